//! Editing the customer's card from the conversation's sidebar.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::back_to;
use crate::error::Error;
use crate::store::conversations::{self};
use crate::store::{contacts, members, users};
use crate::web::State;
use crate::web::auth::Console;
use crate::web::errors::HtmlError;

#[derive(Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    vip: Option<String>,
    #[serde(default)]
    organization: String,
    organization_vip: Option<String>,
    #[serde(default)]
    manager: String,
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Validates the contact form; every message names the field.
fn contact_edit(f: &ContactForm) -> Result<contacts::ContactEdit, Error> {
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("name must be 1-100 characters"));
    }
    let email = match opt(&f.email) {
        Some(e) => Some(users::normalize_email(&e)?),
        None => None,
    };
    let phone = opt(&f.phone);
    if let Some(p) = &phone {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        if !(5..=15).contains(&digits)
            || !p.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
        {
            return Err(Error::invalid(format!(
                "phone \"{p}\" must be 5-15 digits, optionally with + - ( ) and spaces"
            )));
        }
    }
    let organization = opt(&f.organization);
    if organization
        .as_ref()
        .is_some_and(|o| o.chars().count() > 200)
    {
        return Err(Error::invalid(
            "organization must be at most 200 characters",
        ));
    }
    let manager_id = match f.manager.trim() {
        "" | "0" => None,
        m => Some(
            m.parse::<i64>()
                .map_err(|_| Error::invalid("bad manager"))?,
        ),
    };
    Ok(contacts::ContactEdit {
        name: name.to_string(),
        phone,
        email,
        vip: f.vip.is_some(),
        organization,
        organization_vip: f.organization_vip.is_some(),
        manager_id,
    })
}

pub(super) async fn edit_contact(
    state: web::Data<State>,
    console: Console,
    path: web::Path<crate::domain::ConversationId>,
    form: crate::web::body::Form<ContactForm>,
) -> Result<HttpResponse, HtmlError> {
    super::may_change(&state, &console, *path).await?;
    let form = form.parse()?;
    console.check_csrf(&form.csrf)?;
    let edit = contact_edit(&form)?;
    let (pid, conv_id) = (console.project.id, path.into_inner());
    state
        .inbox
        .store
        .write(move |c| {
            let conv = conversations::by_id(c, pid, conv_id)?;
            if let Some(m) = edit.manager_id
                && members::access_in(c, pid, m)?.is_none()
            {
                return Err(Error::invalid(
                    "the manager must be a member of this project",
                ));
            }
            contacts::update(c, pid, conv.contact_id, &edit)
        })
        .await?;
    Ok(back_to(conv_id, &form.back))
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
