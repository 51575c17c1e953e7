// Package email turns mail into karkas records. It parses one RFC 5322
// message into a record.Message (Parse, ParseWith), tells automated mail
// from human mail (DetectAutomated), splits mbox files as a stream
// (MboxReader) and offers the "mail_files" source that imports mbox files
// and folders of .eml files (FileKind).
//
// The parser takes the bytes of one message and knows nothing of where they
// came from, so that an IMAP source can reuse it.
//
// This package imports only connectors, record, go-message, golang.org/x and
// the standard library; never mapping, store or any other karkas package.
package email
