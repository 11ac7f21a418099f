// The hybrid-queries guide's TypeScript examples, sent over gRPC with @qdrant/js-client-grpc to
// heron, each result checked against ../fixture.json (answers from Qdrant's own engine, see
// make_fixture.py).
//
// The guide writes its TypeScript tab for the REST client (`client.query(name, {...})`); the
// gRPC client takes the same request as protobuf messages (`client.api('points').query({...})`,
// oneofs as `{case, value}`, 64-bit integers as BigInt). Each test sends the guide's request in
// that form: same prefetches, vectors, names and limits.
//
// Run: HERON_GRPC_URL=http://127.0.0.1:6334 node --test guide.test.mjs

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, after, test } from 'node:test';

import {
    Datatype,
    Distance,
    FieldType,
    Fusion,
    MultiVectorComparator,
    QdrantClient,
} from '@qdrant/js-client-grpc';

const URL_ = process.env.HERON_GRPC_URL ?? 'http://localhost:6334';
const FIXTURE = process.env.HERON_FIXTURE ?? new URL('../fixture.json', import.meta.url);
const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8'));
const expected = fixture.expected;
const PREFIX = 'ts_';
const name = (collection) => PREFIX + collection;

const client = new QdrantClient({ url: URL_ });
const points = client.api('points');
const collections = client.api('collections');

// --- message helpers -------------------------------------------------------------------------

const pointId = (id) =>
    typeof id === 'string'
        ? { pointIdOptions: { case: 'uuid', value: id } }
        : { pointIdOptions: { case: 'num', value: BigInt(id) } };

const idText = (id) => String(id.pointIdOptions.value);

const dense = (data) => ({ variant: { case: 'dense', value: { data } } });
const sparse = (values, indices) => ({ variant: { case: 'sparse', value: { values, indices } } });
const multi = (rows) => ({
    variant: { case: 'multiDense', value: { vectors: rows.map((data) => ({ data })) } },
});
const nearest = (input) => ({ variant: { case: 'nearest', value: input } });
const byId = (id) => nearest({ variant: { case: 'id', value: pointId(id) } });
const keyword = (key, value) => ({
    conditionOneOf: { case: 'field', value: { key, match: { matchValue: { case: 'keyword', value } } } },
});

function storedVector(v) {
    if (!Array.isArray(v)) return { vector: { case: 'sparse', value: v } };
    if (Array.isArray(v[0])) {
        return { vector: { case: 'multiDense', value: { vectors: v.map((data) => ({ data })) } } };
    }
    return { vector: { case: 'dense', value: { data: v } } };
}

function payloadValue(v) {
    if (typeof v === 'string') return { kind: { case: 'stringValue', value: v } };
    if (Number.isInteger(v)) return { kind: { case: 'integerValue', value: BigInt(v) } };
    return { kind: { case: 'doubleValue', value: v } };
}

function fixturePoint(p) {
    const vectors = Array.isArray(p.vector)
        ? { vectorsOptions: { case: 'vector', value: storedVector(p.vector) } }
        : {
              vectorsOptions: {
                  case: 'vectors',
                  value: {
                      vectors: Object.fromEntries(
                          Object.entries(p.vector).map(([k, v]) => [k, storedVector(v)]),
                      ),
                  },
              },
          };
    const payload = Object.fromEntries(
        Object.entries(p.payload ?? {}).map(([k, v]) => [k, payloadValue(v)]),
    );
    return { id: pointId(p.id), vectors, payload };
}

const params = (size, extra = {}) => ({ size: BigInt(size), distance: Distance.Cosine, ...extra });
const bytes = (size) => params(size, { datatype: Datatype.Uint8 });
const maxSim = (size) =>
    params(size, { multivectorConfig: { comparator: MultiVectorComparator.MaxSim } });
const namedParams = (map) => ({ config: { case: 'paramsMap', value: { map } } });

// The collections the guide's examples assume, shaped as in make_fixture.py.
const SHAPES = {
    hybrid: {
        vectorsConfig: namedParams({ dense: params(3) }),
        sparseVectorsConfig: { map: { sparse: {} } },
    },
    mrl: { vectorsConfig: namedParams({ mrl_byte: bytes(4), full: params(4) }) },
    multistage: {
        vectorsConfig: namedParams({
            dense: params(3),
            mrl_byte: bytes(4),
            full: params(3),
            colbert: maxSim(2),
        }),
    },
    plain: { vectorsConfig: { config: { case: 'params', value: params(3) } } },
    lookup: { vectorsConfig: namedParams({ '512d-vector': params(512) }) },
    another_collection: { vectorsConfig: namedParams({ 'image-512': params(512) }) },
};

// --- checks ----------------------------------------------------------------------------------

// Same ids as expected, each in a place whose expected score matches its own (ties may swap),
// and each score close to the one Qdrant's engine gave.
function checkRanked(got, want) {
    const shown = got.map((p) => [idText(p.id), p.score]);
    assert.equal(got.length, want.length, `results ${JSON.stringify(shown)}`);
    const scoreOf = new Map(want.map(([id, s]) => [String(id), s]));
    got.forEach((p, rank) => {
        const id = idText(p.id);
        const tol = 1e-3 * Math.max(1, Math.abs(p.score));
        assert.ok(scoreOf.has(id), `id ${id} not among the expected ${JSON.stringify(want)}`);
        assert.ok(
            Math.abs(scoreOf.get(id) - want[rank][1]) <= tol,
            `rank ${rank}: got ${JSON.stringify(shown)}, expected ${JSON.stringify(want)}`,
        );
        assert.ok(Math.abs(p.score - scoreOf.get(id)) <= tol, `id ${id}: score ${p.score}`);
    });
}

// --- setup -----------------------------------------------------------------------------------

before(async () => {
    const health = await client.api('service').healthCheck({});
    assert.match(health.version, /^1\./);
    for (const [collection, shape] of Object.entries(SHAPES)) {
        const exists = await collections.collectionExists({ collectionName: name(collection) });
        if (exists.result?.exists) await collections.delete({ collectionName: name(collection) });
        await collections.create({ collectionName: name(collection), ...shape });
    }
    for (const [fieldName, fieldType] of [
        ['price', FieldType.FieldTypeFloat],
        ['color', FieldType.FieldTypeKeyword],
    ]) {
        await points.createFieldIndex({ collectionName: name('plain'), fieldName, fieldType, wait: true });
    }
    for (const [collection, list] of Object.entries(fixture.collections)) {
        await points.upsert({ collectionName: name(collection), wait: true, points: list.map(fixturePoint) });
    }
});

after(() => {
    // connect-node keeps HTTP/2 sessions open; nothing else to release.
});

// --- the guide's examples --------------------------------------------------------------------

const hybridPrefetch = [
    { query: nearest(sparse([0.22, 0.8], [1, 42])), using: 'sparse', limit: 20n },
    { query: nearest(dense([0.01, 0.45, 0.67])), using: 'dense', limit: 20n },
];

for (const [method, fusion] of [['rrf', Fusion.RRF], ['dbsf', Fusion.DBSF]]) {
    test(`hybrid search, ${method}`, async () => {
        const { result } = await points.query({
            collectionName: name('hybrid'),
            prefetch: hybridPrefetch,
            query: { variant: { case: 'fusion', value: fusion } },
        });
        checkRanked(result, expected[method]);
    });
}

test('re-score: mrl_byte -> full', async () => {
    const { result } = await points.query({
        collectionName: name('mrl'),
        prefetch: [{ query: nearest(dense([1, 23, 45, 67])), using: 'mrl_byte', limit: 1000n }],
        query: nearest(dense([0.01, 0.299, 0.45, 0.67])),
        using: 'full',
        limit: 10n,
    });
    checkRanked(result, expected.mrl_full);
});

test('re-score: dense -> colbert', async () => {
    const { result } = await points.query({
        collectionName: name('multistage'),
        // GUIDE: the TypeScript tab sends the byte vector [1, 23, 45, 67] with no `using`; the
        // other tabs (and this test) prefetch with the dense vector, named here.
        prefetch: [{ query: nearest(dense([0.01, 0.45, 0.67])), using: 'dense', limit: 100n }],
        query: nearest(multi([[0.1, 0.2], [0.2, 0.1], [0.8, 0.9]])),
        using: 'colbert',
        limit: 10n,
    });
    checkRanked(result, expected.dense_colbert);
});

test('re-score: mrl_byte -> full -> colbert', async () => {
    const { result } = await points.query({
        collectionName: name('multistage'),
        prefetch: [
            {
                prefetch: [
                    { query: nearest(dense([1, 23, 45, 67])), using: 'mrl_byte', limit: 1000n },
                ],
                query: nearest(dense([0.01, 0.45, 0.67])),
                using: 'full',
                limit: 100n,
            },
        ],
        query: nearest(multi([[0.1, 0.2], [0.2, 0.1], [0.8, 0.9]])),
        using: 'colbert',
        limit: 10n,
    });
    checkRanked(result, expected.mrl_full_colbert);
});

test('query by id', async () => {
    const { result } = await points.query({
        collectionName: name('plain'),
        query: byId(fixture.uuid),
    });
    checkRanked(result, expected.by_id);
});

test('query by id with lookup_from', async () => {
    const { result } = await points.query({
        collectionName: name('lookup'),
        query: byId(fixture.uuid),
        using: '512d-vector',
        lookupFrom: { collectionName: name('another_collection'), vectorName: 'image-512' },
    });
    checkRanked(result, expected.lookup_from);
});

test('filtered prefetches, order_by price', async () => {
    const { result } = await points.query({
        collectionName: name('plain'),
        prefetch: [
            { query: nearest(dense([0.01, 0.45, 0.67])), filter: { must: [keyword('color', 'red')] }, limit: 10n },
            { query: nearest(dense([0.01, 0.45, 0.67])), filter: { must: [keyword('color', 'green')] }, limit: 10n },
        ],
        query: { variant: { case: 'orderBy', value: { key: 'price' } } },
    });
    const got = result.map((p) => [idText(p.id), Number(p.orderValue?.variant.value)]);
    assert.deepEqual(got, expected.order_by.map(([id, price]) => [String(id), price]));
});

test('query groups by document_id', async () => {
    const { result } = await points.queryGroups({
        collectionName: name('plain'),
        query: nearest(dense([0.01, 0.45, 0.67])),
        groupBy: 'document_id',
        limit: 4,
        groupSize: 2,
    });
    const groups = result?.groups ?? [];
    assert.deepEqual(
        groups.map((g) => String(g.id.kind.value)),
        expected.groups.map((g) => String(g.id)),
    );
    groups.forEach((g, i) => checkRanked(g.hits, expected.groups[i].hits));
});
