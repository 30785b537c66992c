//! What a rebuild's swap must carry over from the live tables to their replacements: the views built on them
//! (the `analytics` schema, and any view an operator added), and the grants and comments of tables and views.
//!
//! A swap drops the live tables and moves the rebuilt ones into `public`. PostgreSQL refuses to drop a table a
//! view depends on, and a new table has none of the old one's grants. So, in the swap transaction, the
//! dependent views are read (definitions fully qualified), dropped, and created again on the new tables,
//! and every grant and comment is applied again — the analyst role keeps reading through the rebuild.

use sqlx::PgConnection;

use crate::postgres::db::quote_ident as q;

/// Grants and comments of one relation.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    comment: Option<String>,
    column_comments: Vec<(String, String)>,
    /// (grantee as SQL, privilege, with grant option)
    grants: Vec<(String, String, bool)>,
}

/// A view to create again, with its grants and comments.
#[derive(Debug, Clone)]
pub struct View {
    schema: String,
    name: String,
    definition: String,
    options: Option<Vec<String>>,
    extras: Extras,
}

impl View {
    fn qualified(&self) -> String {
        format!("{}.{}", q(&self.schema), q(&self.name))
    }
}

/// A dependent view as read from the catalog: oid, schema, name, definition, options.
type ViewRow = (i64, String, String, String, Option<Vec<String>>);

/// Reads the grants and comments of the relation `oid`.
async fn read_extras(conn: &mut PgConnection, oid: i64) -> Result<Extras, sqlx::Error> {
    let comment: Option<String> =
        sqlx::query_scalar("SELECT obj_description($1::bigint::oid, 'pg_class')")
            .bind(oid)
            .fetch_one(&mut *conn)
            .await?;
    let column_comments: Vec<(String, String)> = sqlx::query_as(
        "SELECT attname::text, col_description(attrelid, attnum) FROM pg_attribute \
         WHERE attrelid = $1::bigint::oid AND attnum > 0 AND NOT attisdropped \
           AND col_description(attrelid, attnum) IS NOT NULL ORDER BY attnum",
    )
    .bind(oid)
    .fetch_all(&mut *conn)
    .await?;
    // The owner's own privileges are implicit; PUBLIC is grantee 0.
    let grants: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END, a.privilege_type, \
                a.is_grantable \
         FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee \
         WHERE c.oid = $1::bigint::oid AND a.grantee <> c.relowner ORDER BY 1, 2",
    )
    .bind(oid)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Extras {
        comment,
        column_comments,
        grants,
    })
}

/// Applies `extras` to the relation `qualified` (a schema-qualified, quoted name).
async fn apply_extras(
    conn: &mut PgConnection,
    kind: &str,
    qualified: &str,
    extras: &Extras,
) -> Result<(), sqlx::Error> {
    let literal = |s: &str| format!("'{}'", s.replace('\'', "''"));
    if let Some(c) = &extras.comment {
        sqlx::query(&format!("COMMENT ON {kind} {qualified} IS {}", literal(c)))
            .execute(&mut *conn)
            .await?;
    }
    for (column, c) in &extras.column_comments {
        sqlx::query(&format!(
            "COMMENT ON COLUMN {qualified}.{} IS {}",
            q(column),
            literal(c)
        ))
        .execute(&mut *conn)
        .await?;
    }
    for (grantee, privilege, grantable) in &extras.grants {
        let option = if *grantable { " WITH GRANT OPTION" } else { "" };
        sqlx::query(&format!(
            "GRANT {privilege} ON {qualified} TO {grantee}{option}"
        ))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// What a swap of `tables` (in `public`) must restore: the tables' grants and comments, and every view that
/// depends on them, directly or through other views, in creation order.
#[derive(Debug, Clone, Default)]
pub struct Dependents {
    tables: Vec<(String, Extras)>,
    views: Vec<View>,
}

impl Dependents {
    /// Reads them. Run inside the swap transaction, after the live tables are locked.
    ///
    /// # Errors
    /// A database error.
    pub async fn read(conn: &mut PgConnection, tables: &[&str]) -> Result<Self, sqlx::Error> {
        let previous: String = sqlx::query_scalar("SELECT current_setting('search_path')")
            .fetch_one(&mut *conn)
            .await?;
        // With an empty search path every name in a view's definition comes out schema-qualified, so the
        // definition binds to the new tables once they are in `public`.
        sqlx::query("SET LOCAL search_path = pg_catalog")
            .execute(&mut *conn)
            .await?;
        let mut out = Self::default();
        for t in tables {
            let oid: i64 =
                sqlx::query_scalar("SELECT ('public.' || quote_ident($1))::regclass::oid::bigint")
                    .bind(t)
                    .fetch_one(&mut *conn)
                    .await?;
            out.tables
                .push(((*t).to_owned(), read_extras(conn, oid).await?));
        }
        let rows: Vec<ViewRow> = sqlx::query_as(
            "WITH RECURSIVE dep (oid, depth) AS ( \
                 SELECT r.ev_class, 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid \
                 WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass \
                   AND r.ev_class <> d.refobjid \
                   AND d.refobjid = ANY (SELECT ('public.' || quote_ident(t))::regclass::oid FROM unnest($1::text[]) t) \
               UNION ALL \
                 SELECT r.ev_class, dep.depth + 1 FROM dep \
                 JOIN pg_depend d ON d.refobjid = dep.oid AND d.classid = 'pg_rewrite'::regclass \
                                 AND d.refclassid = 'pg_class'::regclass \
                 JOIN pg_rewrite r ON r.oid = d.objid WHERE r.ev_class <> d.refobjid) \
             SELECT c.oid::bigint, n.nspname::text, c.relname::text, pg_get_viewdef(c.oid), c.reloptions::text[] \
             FROM dep JOIN pg_class c ON c.oid = dep.oid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'v' \
             GROUP BY c.oid, n.nspname, c.relname ORDER BY max(dep.depth), n.nspname, c.relname",
        )
        .bind(tables.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>())
        .fetch_all(&mut *conn)
        .await?;
        for (oid, schema, name, definition, options) in rows {
            let extras = read_extras(conn, oid).await?;
            out.views.push(View {
                schema,
                name,
                definition,
                options,
                extras,
            });
        }
        sqlx::query("SELECT set_config('search_path', $1, true)")
            .bind(previous)
            .execute(&mut *conn)
            .await?;
        Ok(out)
    }

    /// Drops the dependent views (before the live tables are dropped).
    ///
    /// # Errors
    /// A database error.
    pub async fn drop_views(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.views.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = self.views.iter().map(View::qualified).collect();
        sqlx::query(&format!("DROP VIEW {}", names.join(", ")))
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Restores the tables' grants and comments and creates the views again (after the new tables are in
    /// `public`).
    ///
    /// # Errors
    /// A database error (a view whose definition no longer fits the new tables, for one).
    pub async fn restore(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        for (t, extras) in &self.tables {
            apply_extras(conn, "TABLE", &format!("public.{}", q(t)), extras).await?;
        }
        for v in &self.views {
            let options = match &v.options {
                Some(o) if !o.is_empty() => format!(" WITH ({})", o.join(", ")),
                _ => String::new(),
            };
            sqlx::query(&format!(
                "CREATE VIEW {}{options} AS {}",
                v.qualified(),
                v.definition
            ))
            .execute(&mut *conn)
            .await?;
            apply_extras(conn, "VIEW", &v.qualified(), &v.extras).await?;
        }
        Ok(())
    }
}
