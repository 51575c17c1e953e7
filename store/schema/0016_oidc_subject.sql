-- The identity an account signed in with through OIDC the first time
-- ("issuer subject"): later sign-ins must be that identity, not only its
-- address, so that an address given to someone else at the provider does
-- not open the account. Empty: not bound yet. A new email unbinds.
ALTER TABLE web_users ADD COLUMN oidc_subject TEXT NOT NULL DEFAULT '';
