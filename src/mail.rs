//! Letters to members (invitations, password resets) through the SMTP server named by
//! PEREPISKA_SMTP_URL: `smtps://user:pass@host:465`, `smtp://user:pass@host:587?tls=required`
//! (STARTTLS), or plain `smtp://host:25` for a relay on the same network.

use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::error::{Error, Result};

/// How long one letter may take to hand over.
const SEND_WAIT: Duration = Duration::from_secs(15);

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// From the URL and the sender address; refused at start when either is unusable.
    pub fn new(url: &str, from: &str) -> Result<Mailer> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| Error::invalid(format!("PEREPISKA_SMTP_URL is not usable: {e}")))?
            .timeout(Some(SEND_WAIT))
            .build();
        let from = from.parse().map_err(|e| {
            Error::invalid(format!(
                "PEREPISKA_SMTP_FROM \"{from}\" is not an address: {e}"
            ))
        })?;
        Ok(Mailer { transport, from })
    }

    /// Sends one plain-text letter; the error says what the mail server answered.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<()> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| Error::invalid(format!("\"{to}\" is not an address: {e}")))?;
        let letter = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            // Readable as sent (links stay whole in any mail client), whatever the alphabet.
            .body(
                Body::new_with_encoding(body.to_string(), ContentTransferEncoding::QuotedPrintable)
                    .map_err(|_| Error::internal("letter not encoded"))?,
            )
            .map_err(|e| Error::internal(format!("letter not built: {e}")))?;
        tokio::time::timeout(SEND_WAIT, self.transport.send(letter))
            .await
            .map_err(|_| Error::internal("the mail server did not answer in 15 s"))?
            .map_err(|e| Error::internal(format!("the mail server refused the letter: {e}")))?;
        Ok(())
    }
}
