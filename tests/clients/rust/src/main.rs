//! The hybrid-queries guide's Rust examples, run with the `qdrant-client` crate against heron's
//! gRPC port, each result checked against tests/clients/fixture.json (answers computed by
//! Qdrant's own engine, see make_fixture.py).
//!
//! Usage: `cargo run -- [URL]` (default `$HERON_GRPC_URL`, else `http://localhost:6334`);
//! `$HERON_FIXTURE` overrides the fixture path. Prints one line per example and closes with
//! `rust: N passed, M failed`; the exit code is non-zero when anything failed.
//!
//! Where the guide's snippets cannot run as printed, the code differs, each time marked `GUIDE:`
//! (a typo in a vector name, `PointId::new` that the crate does not have, a prefetch that needs
//! a default vector next to named ones, which Qdrant does not allow).

use std::collections::HashMap;
use std::future::Future;

use anyhow::{anyhow, bail, Context, Result};
use qdrant_client::qdrant::{
    point_id::PointIdOptions, group_id::Kind, order_value::Variant, Condition, CreateCollectionBuilder,
    CreateFieldIndexCollectionBuilder, Datatype, Distance, FieldType, Filter, Fusion,
    LookupLocationBuilder, MultiVectorComparator, MultiVectorConfigBuilder, PointGroup, PointId,
    PointStruct, PrefetchQueryBuilder, Query, QueryPointGroupsBuilder, QueryPointsBuilder,
    ScoredPoint, SparseVectorParamsBuilder, SparseVectorsConfigBuilder, UpsertPointsBuilder,
    Vector, VectorParamsBuilder, Vectors, VectorsConfigBuilder,
};
use qdrant_client::{Payload, Qdrant};
use serde_json::Value;

const PREFIX: &str = "rust_";

fn name(collection: &str) -> String {
    format!("{PREFIX}{collection}")
}

fn dense(size: u64) -> VectorParamsBuilder {
    VectorParamsBuilder::new(size, Distance::Cosine)
}

fn byte_vector(size: u64) -> VectorParamsBuilder {
    dense(size).datatype(Datatype::Uint8)
}

fn multi(size: u64) -> VectorParamsBuilder {
    dense(size).multivector_config(MultiVectorConfigBuilder::new(MultiVectorComparator::MaxSim))
}

/// The collections the guide's examples assume, shaped as in make_fixture.py.
async fn create_collections(client: &Qdrant) -> Result<()> {
    let mut shapes: Vec<(&str, VectorsConfigBuilder, Option<SparseVectorsConfigBuilder>)> = vec![];
    let named = |vectors: Vec<(&str, VectorParamsBuilder)>| {
        let mut config = VectorsConfigBuilder::default();
        for (vector, params) in vectors {
            config.add_named_vector_params(vector, params);
        }
        config
    };
    let mut sparse = SparseVectorsConfigBuilder::default();
    sparse.add_named_vector_params("sparse", SparseVectorParamsBuilder::default());
    shapes.push(("hybrid", named(vec![("dense", dense(3))]), Some(sparse)));
    shapes.push(("mrl", named(vec![("mrl_byte", byte_vector(4)), ("full", dense(4))]), None));
    shapes.push((
        "multistage",
        named(vec![
            ("dense", dense(3)),
            ("mrl_byte", byte_vector(4)),
            ("full", dense(3)),
            ("colbert", multi(2)),
        ]),
        None,
    ));
    let mut plain = VectorsConfigBuilder::default();
    plain.add_vector_params(dense(3));
    shapes.push(("plain", plain, None));
    shapes.push(("lookup", named(vec![("512d-vector", dense(512))]), None));
    shapes.push(("another_collection", named(vec![("image-512", dense(512))]), None));

    for (collection, vectors, sparse) in shapes {
        if client.collection_exists(name(collection)).await? {
            client.delete_collection(name(collection)).await?;
        }
        let mut create = CreateCollectionBuilder::new(name(collection)).vectors_config(vectors);
        if let Some(sparse) = sparse {
            create = create.sparse_vectors_config(sparse);
        }
        client.create_collection(create).await.with_context(|| format!("create {collection}"))?;
    }
    for (field, kind) in [("price", FieldType::Float), ("color", FieldType::Keyword)] {
        client
            .create_field_index(
                CreateFieldIndexCollectionBuilder::new(name("plain"), field, kind).wait(true),
            )
            .await?;
    }
    Ok(())
}

fn floats(value: &Value) -> Result<Vec<f32>> {
    let items = value.as_array().ok_or_else(|| anyhow!("not a list: {value}"))?;
    items
        .iter()
        .map(|x| x.as_f64().map(|f| f as f32).ok_or_else(|| anyhow!("not a number: {x}")))
        .collect()
}

fn one_vector(value: &Value) -> Result<Vector> {
    if let Some(sparse) = value.as_object() {
        let indices: Vec<u32> = floats(&sparse["indices"])?.into_iter().map(|i| i as u32).collect();
        return Ok(Vector::new_sparse(indices, floats(&sparse["values"])?));
    }
    let rows = value.as_array().ok_or_else(|| anyhow!("bad vector {value}"))?;
    if rows.first().is_some_and(Value::is_array) {
        return Ok(Vector::new_multi(rows.iter().map(floats).collect::<Result<Vec<_>>>()?));
    }
    Ok(Vector::new_dense(floats(value)?))
}

fn point_id(value: &Value) -> Result<PointId> {
    match value {
        Value::Number(n) => Ok(PointId::from(n.as_u64().ok_or_else(|| anyhow!("bad id {n}"))?)),
        Value::String(s) => Ok(PointId::from(s.as_str())),
        other => bail!("bad id {other}"),
    }
}

fn fixture_point(point: &Value) -> Result<PointStruct> {
    let vectors: Vectors = match point["vector"].as_object() {
        Some(named) => named
            .iter()
            .map(|(k, v)| Ok((k.clone(), one_vector(v)?)))
            .collect::<Result<HashMap<String, Vector>>>()?
            .into(),
        None => floats(&point["vector"])?.into(),
    };
    let payload = match &point["payload"] {
        Value::Null => Payload::new(),
        other => Payload::try_from(other.clone())?,
    };
    Ok(PointStruct::new(point_id(&point["id"])?, vectors, payload))
}

async fn upsert_fixture(client: &Qdrant, fixture: &Value) -> Result<()> {
    let collections = fixture["collections"].as_object().context("fixture: collections")?;
    for (collection, points) in collections {
        let points = points
            .as_array()
            .context("fixture: points")?
            .iter()
            .map(fixture_point)
            .collect::<Result<Vec<_>>>()?;
        client.upsert_points(UpsertPointsBuilder::new(name(collection), points).wait(true)).await?;
    }
    Ok(())
}

fn id_text(id: &Option<PointId>) -> String {
    match id.as_ref().and_then(|p| p.point_id_options.as_ref()) {
        Some(PointIdOptions::Num(n)) => n.to_string(),
        Some(PointIdOptions::Uuid(u)) => u.clone(),
        None => "<none>".into(),
    }
}

fn json_id(value: &Value) -> String {
    value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string())
}

/// Same ids as expected, each in a place whose expected score matches its own (ties may swap),
/// and each score close to the one Qdrant's engine gave.
fn check_ranked(points: &[ScoredPoint], expected: &Value) -> Result<()> {
    let expected = expected.as_array().context("fixture: expected list")?;
    let want: Vec<(String, f64)> =
        expected.iter().map(|e| (json_id(&e[0]), e[1].as_f64().unwrap_or(f64::NAN))).collect();
    let got: Vec<(String, f64)> = points.iter().map(|p| (id_text(&p.id), p.score as f64)).collect();
    if got.len() != want.len() {
        bail!("{} results, expected {}: got {got:?}", got.len(), want.len());
    }
    let by_id: HashMap<&str, f64> = want.iter().map(|(i, s)| (i.as_str(), *s)).collect();
    for (rank, (id, score)) in got.iter().enumerate() {
        let tol = 1e-3 * score.abs().max(1.0);
        let Some(&expected_score) = by_id.get(id.as_str()) else {
            bail!("id {id} is not among the expected {want:?}");
        };
        if (expected_score - want[rank].1).abs() > tol {
            bail!("rank {rank}: id {id}, expected {} there; got {got:?}", want[rank].0);
        }
        if (score - expected_score).abs() > tol {
            bail!("id {id}: score {score}, expected {expected_score}");
        }
    }
    Ok(())
}

fn check_order_by(points: &[ScoredPoint], expected: &Value) -> Result<()> {
    let got: Vec<(String, f64)> = points
        .iter()
        .map(|p| {
            let value = match p.order_value.as_ref().and_then(|o| o.variant) {
                Some(Variant::Float(f)) => f,
                Some(Variant::Int(i)) => i as f64,
                None => f64::NAN,
            };
            (id_text(&p.id), value)
        })
        .collect();
    let want: Vec<(String, f64)> = expected
        .as_array()
        .context("fixture: order_by")?
        .iter()
        .map(|e| (json_id(&e[0]), e[1].as_f64().unwrap_or(f64::NAN)))
        .collect();
    let same = got.len() == want.len()
        && got.iter().zip(&want).all(|(g, w)| g.0 == w.0 && (g.1 - w.1).abs() < 1e-6);
    if !same {
        bail!("got {got:?}, expected {want:?}");
    }
    Ok(())
}

fn check_groups(groups: &[PointGroup], expected: &Value) -> Result<()> {
    let expected = expected.as_array().context("fixture: groups")?;
    if groups.len() != expected.len() {
        bail!("{} groups, expected {}", groups.len(), expected.len());
    }
    for (group, want) in groups.iter().zip(expected) {
        let id = match group.id.as_ref().and_then(|g| g.kind.as_ref()) {
            Some(Kind::UnsignedValue(u)) => u.to_string(),
            Some(Kind::IntegerValue(i)) => i.to_string(),
            Some(Kind::StringValue(s)) => s.clone(),
            None => "<none>".into(),
        };
        if id != json_id(&want["id"]) {
            bail!("group {id}, expected {}", want["id"]);
        }
        check_ranked(&group.hits, &want["hits"]).with_context(|| format!("group {id}"))?;
    }
    Ok(())
}

struct Tally {
    passed: u32,
    failed: u32,
}

impl Tally {
    async fn run(&mut self, example: &str, body: impl Future<Output = Result<()>>) {
        match body.await {
            Ok(()) => {
                self.passed += 1;
                println!("ok   {example}");
            }
            Err(err) => {
                self.failed += 1;
                println!("FAIL {example}: {err:#}");
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let url = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("HERON_GRPC_URL").ok())
        .unwrap_or_else(|| "http://localhost:6334".into());
    let fixture_path = std::env::var("HERON_FIXTURE")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../fixture.json").into());
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(&fixture_path).with_context(|| format!("read {fixture_path}"))?,
    )?;
    let expected = &fixture["expected"];
    let uuid = fixture["uuid"].as_str().context("fixture: uuid")?.to_owned();

    let client = Qdrant::from_url(&url).build()?;
    let mut tally = Tally { passed: 0, failed: 0 };

    tally
        .run("health_check", async {
            let reply = client.health_check().await?;
            if !reply.version.starts_with("1.") {
                bail!("version {:?}", reply.version);
            }
            Ok(())
        })
        .await;
    let mut setup_ok = true;
    tally
        .run("setup (create collections, indexes, upsert)", async {
            create_collections(&client).await?;
            upsert_fixture(&client, &fixture).await
        })
        .await;
    if tally.failed > 0 {
        setup_ok = false;
    }

    if setup_ok {
        // Hybrid search: sparse and dense prefetches fused with RRF (and DBSF, which the guide
        // describes in the same section).
        for (example, fusion) in [("rrf", Fusion::Rrf), ("dbsf", Fusion::Dbsf)] {
            tally
                .run(&format!("hybrid {example}"), async {
                    let response = client
                        .query(
                            QueryPointsBuilder::new(name("hybrid"))
                                .add_prefetch(
                                    PrefetchQueryBuilder::default()
                                        .query(Query::new_nearest([(1, 0.22), (42, 0.8)].as_slice()))
                                        .using("sparse")
                                        .limit(20u64),
                                )
                                .add_prefetch(
                                    PrefetchQueryBuilder::default()
                                        .query(Query::new_nearest(vec![0.01, 0.45, 0.67]))
                                        .using("dense")
                                        .limit(20u64),
                                )
                                .query(Query::new_fusion(fusion)),
                        )
                        .await?;
                    check_ranked(&response.result, &expected[example])
                })
                .await;
        }

        tally
            .run("re-score: mrl_byte -> full", async {
                let response = client
                    .query(
                        QueryPointsBuilder::new(name("mrl"))
                            .add_prefetch(
                                PrefetchQueryBuilder::default()
                                    .query(Query::new_nearest(vec![1.0, 23.0, 45.0, 67.0]))
                                    .using("mrl_byte") // GUIDE: "mlr_byte"
                                    .limit(1000u64),
                            )
                            .query(Query::new_nearest(vec![0.01, 0.299, 0.45, 0.67]))
                            .using("full")
                            .limit(10u64),
                    )
                    .await?;
                check_ranked(&response.result, &expected["mrl_full"])
            })
            .await;

        tally
            .run("re-score: dense -> colbert", async {
                let response = client
                    .query(
                        QueryPointsBuilder::new(name("multistage"))
                            .add_prefetch(
                                PrefetchQueryBuilder::default()
                                    .query(Query::new_nearest(vec![0.01, 0.45, 0.67]))
                                    .using("dense") // GUIDE: no `using` (the default vector)
                                    .limit(100u64),
                            )
                            .query(Query::new_nearest(vec![
                                vec![0.1, 0.2],
                                vec![0.2, 0.1],
                                vec![0.8, 0.9],
                            ]))
                            .using("colbert")
                            .limit(10u64),
                    )
                    .await?;
                check_ranked(&response.result, &expected["dense_colbert"])
            })
            .await;

        tally
            .run("re-score: mrl_byte -> full -> colbert", async {
                let response = client
                    .query(
                        QueryPointsBuilder::new(name("multistage"))
                            .add_prefetch(
                                PrefetchQueryBuilder::default()
                                    .add_prefetch(
                                        PrefetchQueryBuilder::default()
                                            .query(Query::new_nearest(vec![1.0, 23.0, 45.0, 67.0]))
                                            .using("mrl_byte") // GUIDE: "mlr_byte"
                                            .limit(1000u64),
                                    )
                                    .query(Query::new_nearest(vec![0.01, 0.45, 0.67]))
                                    .using("full")
                                    .limit(100u64),
                            )
                            .query(Query::new_nearest(vec![
                                vec![0.1, 0.2],
                                vec![0.2, 0.1],
                                vec![0.8, 0.9],
                            ]))
                            .using("colbert")
                            .limit(10u64),
                    )
                    .await?;
                check_ranked(&response.result, &expected["mrl_full_colbert"])
            })
            .await;

        tally
            .run("query by id", async {
                let response = client
                    .query(
                        QueryPointsBuilder::new(name("plain"))
                            // GUIDE: PointId::new(...)
                            .query(Query::new_nearest(PointId::from(uuid.as_str()))),
                    )
                    .await?;
                check_ranked(&response.result, &expected["by_id"])
            })
            .await;

        tally
            .run("query by id with lookup_from", async {
                let response = client
                    .query(
                        QueryPointsBuilder::new(name("lookup"))
                            .query(Query::new_nearest(PointId::from(uuid.as_str())))
                            .using("512d-vector")
                            .lookup_from(
                                LookupLocationBuilder::new(name("another_collection"))
                                    .vector_name("image-512"),
                            ),
                    )
                    .await?;
                check_ranked(&response.result, &expected["lookup_from"])
            })
            .await;

        tally
            .run("filtered prefetches, order_by price", async {
                let response = client
                    .query(
                        QueryPointsBuilder::new(name("plain"))
                            .add_prefetch(
                                PrefetchQueryBuilder::default()
                                    .query(Query::new_nearest(vec![0.01, 0.45, 0.67]))
                                    .filter(Filter::must([Condition::matches(
                                        "color",
                                        "red".to_string(),
                                    )]))
                                    .limit(10u64),
                            )
                            .add_prefetch(
                                PrefetchQueryBuilder::default()
                                    .query(Query::new_nearest(vec![0.01, 0.45, 0.67]))
                                    .filter(Filter::must([Condition::matches(
                                        "color",
                                        "green".to_string(),
                                    )]))
                                    .limit(10u64),
                            )
                            .query(Query::new_order_by("price")),
                    )
                    .await?;
                check_order_by(&response.result, &expected["order_by"])
            })
            .await;

        tally
            .run("query groups by document_id", async {
                let response = client
                    .query_groups(
                        QueryPointGroupsBuilder::new(name("plain"), "document_id")
                            .query(Query::from(vec![0.01, 0.45, 0.67]))
                            .limit(4u64)
                            .group_size(2u64),
                    )
                    .await?;
                let groups = response.result.map(|r| r.groups).unwrap_or_default();
                check_groups(&groups, &expected["groups"])
            })
            .await;
    }

    println!("rust: {} passed, {} failed", tally.passed, tally.failed);
    if tally.failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}
