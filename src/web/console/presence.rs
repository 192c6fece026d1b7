//! The operator's own state: online or not, and which project they work in.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::error::Error;
use crate::store::users;
use crate::web::State;
use crate::web::auth::Console;
use crate::web::errors::HtmlError;

#[derive(Deserialize)]
pub struct PresenceForm {
    #[serde(default)]
    csrf: String,
    online: String,
}

pub(super) async fn presence(
    state: web::Data<State>,
    console: Console,
    form: crate::web::body::Form<PresenceForm>,
) -> Result<HttpResponse, HtmlError> {
    console.require(crate::domain::Can::Answer)?;
    let form = form.parse()?;
    console.check_csrf(&form.csrf)?;
    let online = form.online == "1";
    let uid = console.user.id;
    state
        .inbox
        .store
        .write(move |c| users::set_online(c, uid, online))
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/console"))
        .finish())
}

#[derive(Deserialize)]
pub struct ProjectForm {
    #[serde(default)]
    csrf: String,
    project_id: crate::domain::ProjectId,
}

pub(super) async fn switch_project(
    state: web::Data<State>,
    console: Console,
    form: crate::web::body::Form<ProjectForm>,
) -> Result<HttpResponse, HtmlError> {
    let form = form.parse()?;
    console.check_csrf(&form.csrf)?;
    if !console
        .projects
        .iter()
        .any(|(p, _)| p.id == form.project_id)
    {
        return Err(Error::forbidden("you are not a member of that project").into());
    }
    let (sid, pid) = (console.session_id, form.project_id);
    state
        .inbox
        .store
        .write(move |c| users::set_session_project(c, sid, pid))
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/console"))
        .finish())
}
