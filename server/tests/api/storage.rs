//! The storage seam itself, on whichever backend the run uses.

use paylet::db::{Arg, Batch};
use sqlx::Row;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_failing_batch_leaves_nothing_and_the_writer_keeps_working() {
    let app = spawn_app().await;
    let insert =
        "INSERT INTO customers (id, store_id, email, name, created_at, updated_at) VALUES ($1, $2, $3, NULL, 0, 0)";
    let customer =
        |id: &str, email: &str| vec![Arg::Text(id.into()), Arg::Text(app.store.to_string()), Arg::Text(email.into())];

    let mut failing = Batch::default();
    failing.add(insert, customer("cus_a", "a@example.com"));
    failing.add(insert, customer("cus_a", "b@example.com")); // same primary key: fails
    assert!(app.db.write_batch(failing).await.is_err());

    let count = |email: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query("SELECT COUNT(*) AS n FROM customers WHERE email = $1")
                .bind(email)
                .fetch_one(db.reader())
                .await
                .unwrap()
                .try_get::<i64, _>("n")
                .unwrap()
        }
    };
    assert_eq!(count("a@example.com").await, 0, "the first statement was rolled back with the second");

    let mut ok = Batch::default();
    ok.add(insert, customer("cus_c", "c@example.com"));
    app.db.write_batch(ok).await.unwrap();
    assert_eq!(count("c@example.com").await, 1);
    // And ordinary transactions still start on the writer.
    app.order().await;
}

#[tokio::test]
async fn a_failing_batch_in_a_group_fails_only_itself() {
    let app = spawn_app().await;
    let insert =
        "INSERT INTO customers (id, store_id, email, name, created_at, updated_at) VALUES ($1, $2, $3, NULL, 0, 0)";
    let batch = |ids: &[&str]| {
        let mut b = Batch::default();
        for id in ids {
            let email = format!("{id}@example.com");
            b.add(insert, vec![Arg::Text((*id).into()), Arg::Text(app.store.to_string()), Arg::Text(email)]);
        }
        b
    };
    // Sent at once, these share commits; the one that repeats a key must fail alone.
    let mut writes = Vec::new();
    for i in 0..40 {
        let id = format!("cus_g{i}");
        let b = if i == 20 { batch(&[&id, &id]) } else { batch(&[&id]) };
        let db = app.db.clone();
        writes.push(tokio::spawn(async move { db.write_batch(b).await.is_ok() }));
    }
    for (i, w) in writes.into_iter().enumerate() {
        assert_eq!(w.await.unwrap(), i != 20, "batch {i}");
    }
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM customers WHERE id LIKE 'cus_g%'")
        .fetch_one(app.db.reader())
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(n, 39);
}

#[tokio::test]
async fn a_write_job_knows_which_engine_it_runs_on() {
    let app = spawn_app().await;
    let expected = app.db.backend();
    // Row locks are taken or not by what the job's own connection says it is.
    let seen = app.db.write(|conn| Box::pin(async move { Ok(paylet::db::Backend::of(conn)) })).await.unwrap();
    assert_eq!(seen, expected);
    let reader = app.db.reader().acquire().await.unwrap();
    assert_eq!(paylet::db::Backend::of(&reader), expected);
}
