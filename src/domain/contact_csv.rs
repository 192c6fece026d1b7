//! Contacts as a CSV file: what an import reads and an export writes (the same columns, so an
//! exported file imports back). Files come from Excel as often as from other CRMs: UTF-8 with
//! or without a BOM or Windows-1251, comma- or semicolon-separated, headers in English or
//! Russian.

use super::contact::{self, ContactInput};
use crate::error::{Error, Result};

/// Rows one file may hold.
pub const MAX_ROWS: usize = 50_000;

/// The export's header; the import knows these and their Russian names.
pub const HEADER: [&str; 7] = [
    "name",
    "phone",
    "email",
    "organization",
    "vip",
    "tags",
    "manager",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Name,
    Phone,
    Email,
    Organization,
    Vip,
    Tags,
    Manager,
}

fn column(header: &str) -> Option<Column> {
    let h = header.trim().trim_matches('"').to_lowercase();
    Some(match h.as_str() {
        "name" | "имя" | "фио" | "контакт" | "full name" => Column::Name,
        "phone" | "телефон" | "тел" | "тел." | "mobile" | "мобильный" => {
            Column::Phone
        }
        "email" | "e-mail" | "почта" | "эл. почта" | "электронная почта" => {
            Column::Email
        }
        "organization" | "organisation" | "company" | "организация" | "компания" => {
            Column::Organization
        }
        "vip" => Column::Vip,
        "tags" | "теги" | "метки" => Column::Tags,
        "manager" | "менеджер" | "ответственный" => Column::Manager,
        _ => return None,
    })
}

/// One row that passed the checks.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The line of the file (the header is line 1).
    pub line: usize,
    pub input: ContactInput,
    /// Which cells the row filled: an empty cell keeps what an existing contact has.
    pub has: Has,
    pub tags: Vec<String>,
    /// The manager's e-mail, to be found among the project's members.
    pub manager: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Has {
    pub phone: bool,
    pub email: bool,
    pub organization: bool,
    pub vip: bool,
    pub tags: bool,
}

/// A row that was refused, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Refused {
    pub line: usize,
    pub reason: String,
}

/// The file as text: UTF-8 (a BOM dropped), else Windows-1251 (Excel's Russian default).
fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1251.decode(bytes).0.into_owned(),
    }
}

/// `;` when the header has more semicolons than commas (Excel with a Russian locale).
fn delimiter(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or_default();
    if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    }
}

/// Tags in a cell: separated by commas or semicolons.
fn tag_names(cell: &str) -> Vec<String> {
    let mut out: Vec<String> = cell
        .split([',', ';'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    out.dedup();
    out
}

fn row(line: usize, cols: &[Option<Column>], cells: &csv::StringRecord) -> Result<Row> {
    let cell = |want: Column| -> &str {
        cols.iter()
            .position(|c| *c == Some(want))
            .and_then(|i| cells.get(i))
            .map(str::trim)
            .unwrap_or_default()
    };
    let name = contact::name(cell(Column::Name))?;
    let phone = contact::phone(cell(Column::Phone))?;
    let email = contact::email(cell(Column::Email))?;
    let organization = contact::organization(cell(Column::Organization))?;
    let vip = contact::flag(cell(Column::Vip))?;
    let tags = tag_names(cell(Column::Tags));
    for t in &tags {
        super::tag::name(t)?;
    }
    let manager = match cell(Column::Manager) {
        "" => None,
        m => Some(contact::email(m)?.unwrap_or_default()),
    };
    if manager.is_some() && organization.is_none() {
        return Err(Error::invalid(
            "a manager is the organisation's: fill in the organization too",
        ));
    }
    Ok(Row {
        line,
        has: Has {
            phone: phone.is_some(),
            email: email.is_some(),
            organization: organization.is_some(),
            vip: !cell(Column::Vip).is_empty(),
            tags: !tags.is_empty(),
        },
        input: ContactInput {
            name,
            phone,
            email,
            vip,
            organization,
            organization_vip: false,
            manager_id: None,
        },
        tags,
        manager,
    })
}

/// Reads a file: the rows that passed and those refused with the reason. A file that is not
/// a contacts table at all (no name column, too many rows) is refused whole.
pub fn read(bytes: &[u8]) -> Result<(Vec<Row>, Vec<Refused>)> {
    let text = decode(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(&text))
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| Error::invalid(format!("the file is not CSV: {e}")))?
        .clone();
    let cols: Vec<Option<Column>> = header.iter().map(column).collect();
    if !cols.contains(&Some(Column::Name)) {
        return Err(Error::invalid(format!(
            "the first line must name the columns, one of them \"name\" (or \"имя\"); known: {}",
            HEADER.join(", ")
        )));
    }
    let (mut ok, mut refused) = (Vec::new(), Vec::new());
    for (i, rec) in reader.records().enumerate() {
        // The reader skips blank lines, and a record's position is where the reader stood
        // before them: the line is counted from the record's first byte.
        let at = match &rec {
            Ok(r) => r.position().map(|p| p.byte()),
            Err(e) => e.position().map(|p| p.byte()),
        };
        let line = at.map_or(i + 2, |b| {
            let bytes = text.as_bytes();
            let mut b = (b as usize).min(bytes.len());
            while b < bytes.len() && matches!(bytes[b], b'\n' | b'\r') {
                b += 1;
            }
            bytes[..b].iter().filter(|c| **c == b'\n').count() + 1
        });
        if ok.len() + refused.len() >= MAX_ROWS {
            return Err(Error::invalid(format!(
                "a file may hold at most {MAX_ROWS} contacts; split it"
            )));
        }
        match rec {
            Ok(r) if r.iter().all(|c| c.trim().is_empty()) => {}
            Ok(r) => match row(line, &cols, &r) {
                Ok(row) => ok.push(row),
                Err(e) => refused.push(Refused {
                    line,
                    reason: e.to_string(),
                }),
            },
            Err(e) => refused.push(Refused {
                line,
                reason: format!("not a CSV row: {e}"),
            }),
        }
    }
    Ok((ok, refused))
}

/// One exported contact, in `HEADER`'s order.
pub struct Out<'a> {
    pub name: &'a str,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub organization: Option<&'a str>,
    pub vip: bool,
    pub tags: Vec<&'a str>,
    pub manager: Option<&'a str>,
}

/// The export's lines for these contacts (with the header when `header`), UTF-8.
pub fn write(rows: &[Out], header: bool) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let fail = |e: csv::Error| Error::Internal(format!("writing CSV: {e}"));
    if header {
        w.write_record(HEADER).map_err(fail)?;
    }
    let safe = super::text::spreadsheet_safe;
    for r in rows {
        w.write_record([
            safe(r.name),
            r.phone.map(safe).unwrap_or_default(),
            r.email.map(safe).unwrap_or_default(),
            r.organization.map(safe).unwrap_or_default(),
            if r.vip { "yes" } else { "" }.to_string(),
            safe(&r.tags.join(", ")),
            r.manager.map(safe).unwrap_or_default(),
        ])
        .map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| Error::Internal(format!("writing CSV: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excel_file_in_russian_reads_and_bad_rows_say_why() {
        let file = "Имя;Телефон;E-mail;Компания;VIP;Теги\n\
                    Анна;8 916 123-45-67;anna@example.com;Ромашка;да;опт, срочно\n\
                    ;+7 916;;;;\n\
                    Борис;call me;;;;\n\
                    \n\
                    Вера;;vera@;;;\n";
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(file);
        let (ok, refused) = read(&bytes).unwrap_or_default();
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].input.name, "Анна");
        assert_eq!(ok[0].input.organization.as_deref(), Some("Ромашка"));
        assert!(ok[0].input.vip);
        assert_eq!(ok[0].tags, vec!["опт", "срочно"]);
        let lines: Vec<usize> = refused.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![3, 4, 6]);
        assert!(
            refused[1].reason.contains("call me"),
            "{}",
            refused[1].reason
        );
        assert!(read(b"who,what\nx,y\n").is_err());
    }

    #[test]
    fn an_export_reads_back_and_formulas_are_defused() {
        let rows = [Out {
            name: "=HYPERLINK(\"x\")",
            phone: Some("+7 916 123-45-67"),
            email: Some("a@example.com"),
            organization: Some("ООО \"Ромашка\", филиал"),
            vip: true,
            tags: vec!["опт", "vip-клиент"],
            manager: None,
        }];
        let bytes = write(&rows, true).unwrap_or_default();
        let (ok, refused) = read(&bytes).unwrap_or_default();
        assert!(refused.is_empty(), "{refused:?}");
        assert_eq!(ok[0].input.name, "'=HYPERLINK(\"x\")");
        assert_eq!(ok[0].input.phone.as_deref(), Some("+7 916 123-45-67"));
        assert_eq!(
            ok[0].input.organization.as_deref(),
            Some("ООО \"Ромашка\", филиал")
        );
        assert_eq!(ok[0].tags, vec!["опт", "vip-клиент"]);
    }
}
