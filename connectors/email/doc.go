// Package email turns mail into karkas records. It parses one RFC 5322
// message into a record.Message (Parse, ParseWith), tells automated mail
// from human mail (DetectAutomated), splits mbox files as a stream
// (MboxReader) and offers the "mail_files" source that imports mbox files
// and folders of .eml files (FileKind) and the "imap" source that pulls
// mailboxes incrementally over IMAP (IMAPKind, see IMAPSource).
//
// The parser takes the bytes of one message and knows nothing of where they
// came from, so that both sources share it.
//
// This package imports only connectors, record, go-message, go-imap,
// go-mail, golang.org/x and the standard library; never mapping, store or
// any other karkas package.
package email
