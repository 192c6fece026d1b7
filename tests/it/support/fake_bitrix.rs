//! A Bitrix24 portal's REST API on 127.0.0.1, reached through an incoming webhook
//! (`/rest/<user>/<key>/<method>`): the methods perepiska calls, with the portal's answer
//! shapes (`{"result": …, "time": …}`, `{"error", "error_description"}`), an empty array from
//! crm.duplicate.findbycomm when nothing matches, and a switch that answers 503 to everything.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

#[derive(Default)]
pub struct Portal {
    pub users: Vec<Value>,
    pub contacts: Vec<Value>,
    pub leads: Vec<Value>,
    pub deals: Vec<Value>,
    /// (ENTITY_TYPE, ENTITY_ID, COMMENT)
    pub comments: Vec<(String, i64, String)>,
    /// Every call: the method and its parameters.
    pub calls: Vec<(String, Value)>,
    pub next_id: i64,
    pub down: bool,
    /// Methods answered 503 once each, then as usual.
    pub fail_once: Vec<String>,
}

#[derive(Clone)]
pub struct FakeBitrix {
    pub origin: String,
    /// The incoming webhook that works.
    pub webhook_url: String,
    pub state: Arc<Mutex<Portal>>,
}

struct Shared {
    key: String,
    state: Arc<Mutex<Portal>>,
}

const KEY: &str = "k3y5ecr3tabc";

impl FakeBitrix {
    pub async fn start() -> FakeBitrix {
        let state = Arc::new(Mutex::new(Portal {
            next_id: 100,
            users: vec![
                json!({"ID": "1", "NAME": "Иван", "LAST_NAME": "Петров", "EMAIL": "ivan@firm.ru", "ACTIVE": true}),
                json!({"ID": "7", "NAME": "Ольга", "LAST_NAME": "Смирнова", "EMAIL": "admin@example.com", "ACTIVE": true}),
            ],
            ..Portal::default()
        }));
        let shared = web::Data::new(Shared {
            key: KEY.into(),
            state: state.clone(),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .route("/rest/{user}/{key}/{method}", web::post().to(method))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        let origin = format!("http://127.0.0.1:{port}");
        FakeBitrix {
            webhook_url: format!("{origin}/rest/1/{KEY}/"),
            origin,
            state,
        }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Portal) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    pub fn methods(&self) -> Vec<String> {
        self.with(|p| p.calls.iter().map(|(m, _)| m.clone()).collect())
    }
}

fn answer(result: Value) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "result": result,
        "time": {"start": 1733300000.1, "finish": 1733300000.2, "duration": 0.1}
    }))
}

fn refuse(status: u16, error: &str, description: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .json(json!({"error": error, "error_description": description}))
}

fn values(list: &Value) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["VALUE"].as_str().map(str::to_string))
        .collect()
}

async fn method(
    path: web::Path<(String, String, String)>,
    shared: web::Data<Shared>,
    body: web::Bytes,
) -> HttpResponse {
    let (_, key, method) = path.into_inner();
    let method = method.trim_end_matches(".json").to_string();
    let params: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
    let mut p = shared.state.lock().unwrap();
    p.calls.push((method.clone(), params.clone()));
    if let Some(i) = p.fail_once.iter().position(|m| *m == method) {
        p.fail_once.remove(i);
        return refuse(503, "", "Service temporarily unavailable");
    }
    if p.down {
        return refuse(503, "", "Service temporarily unavailable");
    }
    if key != shared.key {
        return refuse(401, "INVALID_CREDENTIALS", "Invalid request credentials");
    }
    let fields = params["fields"].clone();
    let add = |p: &mut Portal, list: &str| {
        p.next_id += 1;
        let id = p.next_id;
        let mut f = fields.clone();
        f["ID"] = json!(id.to_string());
        match list {
            "contact" => p.contacts.push(f),
            "lead" => p.leads.push(f),
            _ => p.deals.push(f),
        }
        answer(json!(id))
    };
    match method.as_str() {
        "profile" => {
            answer(json!({"ID": "1", "ADMIN": true, "NAME": "Иван", "LAST_NAME": "Петров"}))
        }
        "user.get" => {
            let email = params["FILTER"]["EMAIL"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase();
            let found: Vec<Value> = p
                .users
                .iter()
                .filter(|u| u["EMAIL"].as_str().unwrap_or_default().to_lowercase() == email)
                .cloned()
                .collect();
            answer(json!(found))
        }
        "crm.duplicate.findbycomm" => {
            let kind = params["type"].as_str().unwrap_or_default();
            let wanted: Vec<String> = params["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_lowercase))
                .collect();
            if !["PHONE", "EMAIL"].contains(&kind) || wanted.is_empty() {
                return refuse(
                    400,
                    "ERROR_ARGUMENT",
                    "Parameter 'type' or 'values' is not defined",
                );
            }
            let ids: Vec<i64> = p
                .contacts
                .iter()
                .filter(|c| {
                    values(&c[kind])
                        .iter()
                        .any(|v| wanted.contains(&v.to_lowercase()))
                })
                .filter_map(|c| c["ID"].as_str().and_then(|s| s.parse().ok()))
                .collect();
            if ids.is_empty() {
                answer(json!([]))
            } else {
                answer(json!({"CONTACT": ids}))
            }
        }
        "crm.contact.add" => add(&mut p, "contact"),
        "crm.lead.add" => add(&mut p, "lead"),
        "crm.deal.add" => add(&mut p, "deal"),
        "crm.lead.update" | "crm.deal.update" => {
            let id = params["id"].as_i64().map(|i| i.to_string());
            let list = if method == "crm.lead.update" {
                &mut p.leads
            } else {
                &mut p.deals
            };
            match list
                .iter_mut()
                .find(|e| e["ID"].as_str().map(str::to_string) == id)
            {
                Some(e) => {
                    for (k, v) in fields.as_object().into_iter().flatten() {
                        e[k] = v.clone();
                    }
                    answer(json!(true))
                }
                None => refuse(400, "", "Not found"),
            }
        }
        "crm.timeline.comment.add" => {
            let kind = fields["ENTITY_TYPE"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let id = fields["ENTITY_ID"].as_i64().unwrap_or_default();
            let text = fields["COMMENT"].as_str().unwrap_or_default().to_string();
            if text.is_empty() || id == 0 {
                return refuse(
                    400,
                    "ERROR_CORE",
                    "Required fields ENTITY_ID, ENTITY_TYPE, COMMENT",
                );
            }
            p.comments.push((kind, id, text));
            p.next_id += 1;
            let id = p.next_id;
            answer(json!(id))
        }
        _ => refuse(404, "ERROR_METHOD_NOT_FOUND", "Method not found!"),
    }
}
