package email

import (
	"context"
	"errors"
	"sync"
)

// Check logs in to every account, lists its folders and logs out (see
// connectors.Checker), all accounts at once: a wrong password or refresh
// token, a server that cannot be reached or whose certificate does not
// verify, and a configured folder the account does not have are each one
// error naming the account. Nothing is selected or fetched.
func (s *IMAPSource) Check(ctx context.Context) error {
	errs := make([]error, len(s.accounts))
	var wg sync.WaitGroup
	for i, acc := range s.accounts {
		wg.Go(func() { errs[i] = s.checkAccount(ctx, acc) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *IMAPSource) checkAccount(ctx context.Context, acc *imapAccount) error {
	c, err := s.dial(ctx, acc)
	if err != nil {
		return err
	}
	defer c.logout(ctx)
	_, missing, err := (&imapPull{src: s}).folders(ctx, acc, c)
	if err != nil {
		return err
	}
	return missing
}
