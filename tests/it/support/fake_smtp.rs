//! A mail server on 127.0.0.1 that speaks enough SMTP for one client (EHLO, MAIL, RCPT, DATA,
//! QUIT) and keeps every letter it is handed.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Clone, Debug)]
pub struct Letter {
    pub to: Vec<String>,
    /// Headers and body as sent (dot-stuffing undone).
    pub data: String,
}

pub struct FakeSmtp {
    pub url: String,
    letters: Arc<Mutex<Vec<Letter>>>,
    /// Letters still to be refused with a temporary error (451), as a busy server does.
    refuse: Arc<Mutex<usize>>,
}

impl FakeSmtp {
    pub async fn start() -> FakeSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let letters: Arc<Mutex<Vec<Letter>>> = Arc::default();
        let kept = letters.clone();
        let refuse: Arc<Mutex<usize>> = Arc::default();
        let refusing = refuse.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let kept = kept.clone();
                let refusing = refusing.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 fake.smtp ESMTP\r\n").await;
                    let mut to = Vec::new();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let upper = line.to_ascii_uppercase();
                        let answer: &[u8] =
                            if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                                b"250-fake.smtp\r\n250 8BITMIME\r\n"
                            } else if upper.starts_with("MAIL FROM") {
                                let mut left = refusing.lock().unwrap();
                                if *left > 0 {
                                    *left -= 1;
                                    b"451 busy, try again later\r\n"
                                } else {
                                    b"250 ok\r\n"
                                }
                            } else if upper.starts_with("RCPT TO") {
                                to.push(line[8..].trim().trim_matches(['<', '>']).to_string());
                                b"250 ok\r\n"
                            } else if upper.starts_with("DATA") {
                                let _ = write.write_all(b"354 go ahead\r\n").await;
                                let mut data = String::new();
                                while let Ok(Some(l)) = lines.next_line().await {
                                    if l == "." {
                                        break;
                                    }
                                    data.push_str(l.strip_prefix('.').unwrap_or(&l));
                                    data.push('\n');
                                }
                                kept.lock().unwrap().push(Letter {
                                    to: std::mem::take(&mut to),
                                    data,
                                });
                                b"250 queued\r\n"
                            } else if upper.starts_with("QUIT") {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                break;
                            } else {
                                b"250 ok\r\n"
                            };
                        if write.write_all(answer).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        FakeSmtp {
            url,
            letters,
            refuse,
        }
    }

    /// The next `n` letters are refused for now (451).
    pub fn refuse_next(&self, n: usize) {
        *self.refuse.lock().unwrap() = n;
    }

    pub fn letters(&self) -> Vec<Letter> {
        self.letters.lock().unwrap().clone()
    }
}
