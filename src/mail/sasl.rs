//! How affrel proves who it is with an OAuth 2 access token: the SASL mechanisms XOAUTH2
//! (Google's and Microsoft's) and OAUTHBEARER (RFC 7628), the same for IMAP and SMTP.

use crate::model::{Auth, Server};

/// A token login: the mechanism's name and what the client sends.
pub struct TokenLogin {
    /// `XOAUTH2` or `OAUTHBEARER`.
    pub mechanism: &'static str,
    /// The initial client response, before base64.
    pub initial: Vec<u8>,
    /// What the client answers to the server's error challenge, before base64, so that the
    /// server can end the exchange with its refusal.
    pub after_error: &'static [u8],
}

/// The token login for `auth`, or `None` for a password login.
pub fn token_login(auth: Auth, server: &Server, token: &str) -> Option<TokenLogin> {
    let user = &server.user;
    match auth {
        Auth::Password => None,
        Auth::Xoauth2 => Some(TokenLogin {
            mechanism: "XOAUTH2",
            initial: format!("user={user}\x01auth=Bearer {token}\x01\x01").into_bytes(),
            after_error: b"",
        }),
        Auth::OAuthBearer => Some(TokenLogin {
            mechanism: "OAUTHBEARER",
            initial: format!(
                "n,a={},\x01host={}\x01port={}\x01auth=Bearer {token}\x01\x01",
                user.replace('=', "=3D").replace(',', "=2C"),
                server.host,
                server.port
            )
            .into_bytes(),
            after_error: b"\x01",
        }),
    }
}

/// The help for a refused token, which never shows it.
pub const TOKEN_REFUSED_HELP: &str = "the access token that `password_command` printed was refused: it may have expired or lack the mail scope. Run your token helper yourself to renew it (e.g. `oama access you@gmail.com`, `mutt_oauth2.py --authorize`), and check the `user` and `auth` under `mail`";

#[cfg(test)]
mod tests {
    use super::token_login;
    use crate::model::{Auth, Security, Server};

    // The initial responses follow Google's XOAUTH2 format and RFC 7628's GS2 header, with
    // `,` and `=` in the user name escaped.
    #[test]
    fn token_logins_are_formatted_as_the_mechanisms_say() {
        let server = Server {
            host: "imap.example.com".to_owned(),
            port: 993,
            security: Security::Tls,
            user: "sam,x=y@example.com".to_owned(),
        };
        let xoauth2 = token_login(Auth::Xoauth2, &server, "t0k").unwrap();
        assert_eq!(
            xoauth2.initial,
            b"user=sam,x=y@example.com\x01auth=Bearer t0k\x01\x01"
        );
        let bearer = token_login(Auth::OAuthBearer, &server, "t0k").unwrap();
        assert_eq!(
            bearer.initial,
            b"n,a=sam=2Cx=3Dy@example.com,\x01host=imap.example.com\x01port=993\x01auth=Bearer t0k\x01\x01"
        );
        assert!(token_login(Auth::Password, &server, "pw").is_none());
    }
}
