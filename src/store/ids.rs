//! The domain's typed ids as SQL integers, so queries take and return them directly.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, Queryable};
use diesel::expression::AsExpression;
use diesel::sql_types::{BigInt, Nullable};

use crate::domain::{ChannelId, ContactId, ConversationId, ProjectId};

macro_rules! sql_id {
    ($($t:ty),*) => {$(
        impl AsExpression<BigInt> for $t {
            type Expression = <i64 as AsExpression<BigInt>>::Expression;
            fn as_expression(self) -> Self::Expression {
                <i64 as AsExpression<BigInt>>::as_expression(self.0)
            }
        }

        impl AsExpression<BigInt> for &$t {
            type Expression = <i64 as AsExpression<BigInt>>::Expression;
            fn as_expression(self) -> Self::Expression {
                <i64 as AsExpression<BigInt>>::as_expression(self.0)
            }
        }

        impl AsExpression<Nullable<BigInt>> for $t {
            type Expression = <i64 as AsExpression<Nullable<BigInt>>>::Expression;
            fn as_expression(self) -> Self::Expression {
                <i64 as AsExpression<Nullable<BigInt>>>::as_expression(self.0)
            }
        }

        impl<DB: Backend> FromSql<BigInt, DB> for $t
        where
            i64: FromSql<BigInt, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                i64::from_sql(bytes).map(<$t>::from)
            }
        }

        impl<DB: Backend> Queryable<BigInt, DB> for $t
        where
            $t: FromSql<BigInt, DB>,
        {
            type Row = Self;
            fn build(row: Self) -> deserialize::Result<Self> {
                Ok(row)
            }
        }
    )*};
}

sql_id!(ProjectId, ChannelId, ContactId, ConversationId);
