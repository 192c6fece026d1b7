//! An amoCRM account's API v4 on 127.0.0.1 behind a long-lived token: the account, users,
//! contact search (204 when nothing matches), leads/complex, notes and a lead's update, with
//! amoCRM's problem documents (`{"title", "type", "status", "detail"}`) for refusals.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

pub const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.fake-long-lived-token";

#[derive(Default)]
pub struct Account {
    pub contacts: Vec<Value>,
    pub leads: Vec<Value>,
    /// (lead id, text)
    pub notes: Vec<(i64, String)>,
    /// Every call: method and path with its query.
    pub calls: Vec<String>,
    pub next_id: i64,
    pub down: bool,
}

#[derive(Clone)]
pub struct FakeAmo {
    pub api_base: String,
    pub state: Arc<Mutex<Account>>,
}

impl FakeAmo {
    pub async fn start() -> FakeAmo {
        let state = Arc::new(Mutex::new(Account {
            next_id: 5000,
            ..Account::default()
        }));
        let data = web::Data::new(state.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(route))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        FakeAmo {
            api_base: format!("http://127.0.0.1:{port}"),
            state,
        }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Account) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    pub fn calls(&self) -> Vec<String> {
        self.with(|a| a.calls.clone())
    }
}

fn problem(status: u16, title: &str, detail: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .content_type("application/problem+json")
        .body(
            json!({
                "title": title,
                "type": format!("https://httpstatus.es/{status}"),
                "status": status,
                "detail": detail,
            })
            .to_string(),
        )
}

fn field_values(c: &Value, code: &str) -> Vec<String> {
    c["custom_fields_values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["field_code"] == code)
        .flat_map(|f| f["values"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v["value"].as_str().map(str::to_lowercase))
        .collect()
}

async fn route(
    req: HttpRequest,
    data: web::Data<Arc<Mutex<Account>>>,
    body: web::Bytes,
) -> HttpResponse {
    let mut a = data.lock().unwrap();
    let path = req.path().to_string();
    let query = req.query_string().to_string();
    a.calls.push(format!(
        "{} {}{}{}",
        req.method(),
        path,
        if query.is_empty() { "" } else { "?" },
        query
    ));
    if a.down {
        return problem(503, "Service Unavailable", "Try again later");
    }
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if bearer != format!("Bearer {TOKEN}") {
        return problem(401, "Unauthorized", "Invalid access token");
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let method = req.method().as_str().to_string();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["api", "v4", "account"]) => HttpResponse::Ok().json(json!({
            "id": 31337, "name": "ООО Ромашка", "subdomain": "romashka", "currency": "RUB"
        })),
        ("GET", ["api", "v4", "users"]) => HttpResponse::Ok().json(json!({
            "_page": 1,
            "_embedded": {"users": [
                {"id": 9001, "name": "Анна", "email": "anna@romashka.ru"},
                {"id": 9002, "name": "Администратор", "email": "admin@example.com"}
            ]}
        })),
        ("GET", ["api", "v4", "contacts"]) => {
            let q = url_query(&query, "query").to_lowercase();
            let found: Vec<Value> = a
                .contacts
                .iter()
                .filter(|c| {
                    !q.is_empty()
                        && (field_values(c, "PHONE").contains(&q)
                            || field_values(c, "EMAIL").contains(&q))
                })
                .map(|c| json!({"id": c["id"], "name": c["name"]}))
                .collect();
            if found.is_empty() {
                HttpResponse::NoContent().finish()
            } else {
                HttpResponse::Ok().json(json!({"_embedded": {"contacts": found}}))
            }
        }
        ("POST", ["api", "v4", "leads", "complex"]) => {
            let Some(list) = body.as_array() else {
                return problem(400, "Bad Request", "Request validation failed");
            };
            let mut out = Vec::new();
            for (i, lead) in list.iter().enumerate() {
                if lead["name"].as_str().is_none_or(str::is_empty) {
                    return problem(400, "Bad Request", "Request validation failed");
                }
                let contact = &lead["_embedded"]["contacts"][0];
                let contact_id = match contact["id"].as_i64() {
                    Some(id) => id,
                    None => {
                        a.next_id += 1;
                        let id = a.next_id;
                        let mut c = contact.clone();
                        c["id"] = json!(id);
                        a.contacts.push(c);
                        id
                    }
                };
                a.next_id += 1;
                let id = a.next_id;
                let mut l = lead.clone();
                l["id"] = json!(id);
                l["contact_id"] = json!(contact_id);
                a.leads.push(l);
                out.push(json!({"id": id, "contact_id": contact_id, "company_id": null, "request_id": [i.to_string()], "merged": false}));
            }
            HttpResponse::Ok().json(out)
        }
        ("POST", ["api", "v4", "leads", id, "notes"]) => {
            let id: i64 = id.parse().unwrap_or_default();
            if !a.leads.iter().any(|l| l["id"] == id) {
                return problem(404, "Not Found", "Lead not found");
            }
            let mut made = Vec::new();
            for n in body.as_array().into_iter().flatten() {
                let text = n["params"]["text"].as_str().unwrap_or_default().to_string();
                a.next_id += 1;
                made.push(json!({"id": a.next_id, "entity_id": id}));
                a.notes.push((id, text));
            }
            HttpResponse::Ok().json(json!({"_embedded": {"notes": made}}))
        }
        ("PATCH", ["api", "v4", "leads", id]) => {
            let id: i64 = id.parse().unwrap_or_default();
            match a.leads.iter_mut().find(|l| l["id"] == id) {
                Some(l) => {
                    for (k, v) in body.as_object().into_iter().flatten() {
                        l[k] = v.clone();
                    }
                    HttpResponse::Ok().json(json!({"id": id}))
                }
                None => problem(404, "Not Found", "Lead not found"),
            }
        }
        _ => problem(404, "Not Found", "Not found"),
    }
}

fn url_query(query: &str, key: &str) -> String {
    let url = reqwest::Url::parse(&format!("http://x/?{query}")).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}
