//! Editing the customer's card from the conversation's sidebar (the contacts page has the
//! full card: `contact_pages`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::back_to;
use crate::domain::contact::{self, ContactInput};
use crate::error::Error;
use crate::store::conversations::{self};
use crate::web::State;
use crate::web::auth::Console;
use crate::web::errors::HtmlError;
use crate::web::settings::field;

/// A contact form's fields as checked input (the sidebar's and the contacts page's forms).
pub(super) fn input_of(f: &[(String, String)]) -> Result<ContactInput, Error> {
    let manager_id = match field(f, "manager").trim() {
        "" | "0" => None,
        m => Some(
            m.parse::<i64>()
                .map_err(|_| Error::invalid("bad manager"))?,
        ),
    };
    Ok(ContactInput {
        name: contact::name(field(f, "name"))?,
        phone: contact::phone(field(f, "phone"))?,
        email: contact::email(field(f, "email"))?,
        vip: !field(f, "vip").is_empty(),
        organization: contact::organization(field(f, "organization"))?,
        organization_vip: !field(f, "organization_vip").is_empty(),
        manager_id,
    })
}

pub(super) async fn edit_contact(
    state: web::Data<State>,
    console: Console,
    path: web::Path<crate::domain::ConversationId>,
    form: crate::web::body::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    super::may_change(&state, &console, *path).await?;
    let form = form.parse()?;
    console.check_csrf(field(&form, "csrf"))?;
    let input = input_of(&form)?;
    let (pid, conv_id) = (console.project.id, path.into_inner());
    let contact = state
        .inbox
        .store
        .read(move |c| conversations::by_id(c, pid, conv_id))
        .await?
        .contact_id;
    state
        .inbox
        .update_contact(&console.operator(), contact, input, None)
        .await?;
    Ok(back_to(conv_id, field(&form, "back")))
}

#[derive(Deserialize)]
pub struct BlacklistForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
    #[serde(default)]
    reason: String,
}

/// The contact of a conversation the caller may change.
async fn contact_of(
    state: &State,
    console: &Console,
    id: crate::domain::ConversationId,
) -> Result<crate::domain::ContactId, HtmlError> {
    console.require(crate::domain::Can::Answer)?;
    let pid = console.project.id;
    Ok(state
        .inbox
        .store
        .read(move |c| conversations::by_id(c, pid, id))
        .await?
        .contact_id)
}

/// Puts the conversation's contact on the blacklist, from the sidebar.
pub(super) async fn blacklist(
    state: web::Data<State>,
    console: Console,
    path: web::Path<crate::domain::ConversationId>,
    form: crate::web::body::Form<BlacklistForm>,
) -> Result<HttpResponse, HtmlError> {
    let contact = contact_of(&state, &console, *path).await?;
    let form = form.parse()?;
    console.check_csrf(&form.csrf)?;
    state
        .inbox
        .blacklist(&console.operator(), contact, &form.reason)
        .await?;
    Ok(back_to(path.into_inner(), &form.back))
}

pub(super) async fn unblacklist(
    state: web::Data<State>,
    console: Console,
    path: web::Path<crate::domain::ConversationId>,
    form: crate::web::body::Form<BlacklistForm>,
) -> Result<HttpResponse, HtmlError> {
    let contact = contact_of(&state, &console, *path).await?;
    let form = form.parse()?;
    console.check_csrf(&form.csrf)?;
    state
        .inbox
        .unblacklist(&console.operator(), contact)
        .await?;
    Ok(back_to(path.into_inner(), &form.back))
}
