//! Hot UPDATEs kept prepared on their connection.
//!
//! diesel prepares every UPDATE afresh (a changeset struct with `Option` fields leaves the
//! `None` columns out, so one Rust type may stand for many statements), and the flag that
//! says so cannot be lifted from outside. Preparing an UPDATE of `conversations` (thirteen
//! indexes, the report triggers) costs SQLite more than running it: in a mass auto-close a
//! third of the writer's time went to preparing its two UPDATEs. The few statements that run
//! for every message or every timer are written here as fixed text with typed binds, which
//! the connection prepares once and keeps, keyed by that text.

use diesel::QueryResult;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::RunQueryDsl;

use super::MultiBackend;

/// A statement of fixed text: each `?` in `sql` takes the next of `binds` (bound values,
/// `value.into_sql::<Type>()`).
pub(super) struct Fixed<B> {
    sql: &'static str,
    binds: B,
}

pub(super) fn fixed<B>(sql: &'static str, binds: B) -> Fixed<B> {
    Fixed { sql, binds }
}

/// The binds of a `Fixed`, walked in order between the pieces of its text.
pub(super) trait Binds {
    fn walk<'b>(
        &'b self,
        pass: &mut AstPass<'_, 'b, MultiBackend>,
        pieces: &mut std::str::Split<'static, char>,
    ) -> QueryResult<()>;
}

fn miscounted() -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(
        "a fixed statement's binds do not match its text".into(),
    )
}

macro_rules! binds {
    ($($t:ident $i:tt),+) => {
        impl<$($t: QueryFragment<MultiBackend>),+> Binds for ($($t,)+) {
            fn walk<'b>(
                &'b self,
                pass: &mut AstPass<'_, 'b, MultiBackend>,
                pieces: &mut std::str::Split<'static, char>,
            ) -> QueryResult<()> {
                $(
                    self.$i.walk_ast(pass.reborrow())?;
                    pass.push_sql(pieces.next().ok_or_else(miscounted)?);
                )+
                Ok(())
            }
        }
    };
}

binds!(A 0);
binds!(A 0, B 1);
binds!(A 0, B 1, C 2);
binds!(A 0, B 1, C 2, D 3);
binds!(A 0, B 1, C 2, D 3, E 4);
binds!(A 0, B 1, C 2, D 3, E 4, F 5);
binds!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
binds!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

impl<B: Binds> QueryFragment<MultiBackend> for Fixed<B> {
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        let mut pieces = self.sql.split('?');
        pass.push_sql(pieces.next().ok_or_else(miscounted)?);
        self.binds.walk(&mut pass, &mut pieces)?;
        match pieces.next() {
            None => Ok(()),
            Some(_) => Err(miscounted()),
        }
    }
}

impl<B> QueryId for Fixed<B> {
    type QueryId = ();
    // Keyed by its text: two statements may have binds of the same types.
    const HAS_STATIC_QUERY_ID: bool = false;
}

// Rows it returns (`RETURNING`) are read by column name.
impl<B> Query for Fixed<B> {
    type SqlType = diesel::sql_types::Untyped;
}

impl<B, Conn> RunQueryDsl<Conn> for Fixed<B> {}

#[cfg(test)]
mod tests {
    use diesel::sql_types::{BigInt, Text};
    use diesel::{Connection, IntoSql, connection::SimpleConnection};

    use super::*;
    use crate::store::DbConn;

    #[test]
    fn each_question_mark_takes_one_bind_and_a_miscount_is_an_error() -> crate::error::Result<()> {
        let mut conn = DbConn::Sqlite(
            diesel::SqliteConnection::establish(":memory:")
                .map_err(|e| crate::error::Error::internal(e.to_string()))?,
        );
        conn.batch_execute("CREATE TABLE t (id BIGINT PRIMARY KEY, a TEXT); INSERT INTO t VALUES (7, 'old'), (8, 'old');")?;
        for (id, to) in [(7i64, "first"), (8, "second"), (7, "third")] {
            let n = fixed(
                "UPDATE t SET a = ? WHERE id = ?",
                (to.into_sql::<Text>(), id.into_sql::<BigInt>()),
            )
            .execute(&mut conn)?;
            assert_eq!(n, 1);
        }
        let got: Vec<super::super::Number> = fixed(
            "SELECT id AS n FROM t WHERE a = ? ORDER BY id",
            ("third".into_sql::<Text>(),),
        )
        .load(&mut conn)?;
        assert_eq!(got.iter().map(|r| r.n).collect::<Vec<_>>(), [7]);
        let short = fixed("UPDATE t SET a = ? WHERE id = ?", ("x".into_sql::<Text>(),));
        assert!(short.execute(&mut conn).is_err());
        let long = fixed(
            "UPDATE t SET a = ?",
            ("x".into_sql::<Text>(), 7i64.into_sql::<BigInt>()),
        );
        assert!(long.execute(&mut conn).is_err());
        let unchanged: Vec<super::super::Number> = fixed(
            "SELECT count(*) AS n FROM t WHERE a = ?",
            ("x".into_sql::<Text>(),),
        )
        .load(&mut conn)?;
        assert_eq!(unchanged[0].n, 0);
        Ok(())
    }
}
