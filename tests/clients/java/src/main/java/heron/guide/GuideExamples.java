package heron.guide;

import static io.qdrant.client.ConditionFactory.matchKeyword;
import static io.qdrant.client.PointIdFactory.id;
import static io.qdrant.client.QueryFactory.fusion;
import static io.qdrant.client.QueryFactory.nearest;
import static io.qdrant.client.QueryFactory.orderBy;
import static io.qdrant.client.ValueFactory.value;
import static io.qdrant.client.VectorFactory.multiVector;
import static io.qdrant.client.VectorFactory.vector;
import static io.qdrant.client.VectorsFactory.namedVectors;
import static io.qdrant.client.VectorsFactory.vectors;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.qdrant.client.QdrantClient;
import io.qdrant.client.QdrantGrpcClient;
import io.qdrant.client.grpc.Collections.CreateCollection;
import io.qdrant.client.grpc.Collections.Datatype;
import io.qdrant.client.grpc.Collections.Distance;
import io.qdrant.client.grpc.Collections.MultiVectorComparator;
import io.qdrant.client.grpc.Collections.MultiVectorConfig;
import io.qdrant.client.grpc.Collections.PayloadSchemaType;
import io.qdrant.client.grpc.Collections.SparseVectorConfig;
import io.qdrant.client.grpc.Collections.SparseVectorParams;
import io.qdrant.client.grpc.Collections.VectorParams;
import io.qdrant.client.grpc.Collections.VectorParamsMap;
import io.qdrant.client.grpc.Collections.VectorsConfig;
import io.qdrant.client.grpc.Common.Filter;
import io.qdrant.client.grpc.Common.PointId;
import io.qdrant.client.grpc.JsonWithInt.Value;
import io.qdrant.client.grpc.Points.Fusion;
import io.qdrant.client.grpc.Points.GroupId;
import io.qdrant.client.grpc.Points.LookupLocation;
import io.qdrant.client.grpc.Points.PointGroup;
import io.qdrant.client.grpc.Points.PointStruct;
import io.qdrant.client.grpc.Points.PrefetchQuery;
import io.qdrant.client.grpc.Points.QueryPointGroups;
import io.qdrant.client.grpc.Points.QueryPoints;
import io.qdrant.client.grpc.Points.ScoredPoint;
import io.qdrant.client.grpc.Points.Vector;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The hybrid-queries guide's Java examples, run with io.qdrant:client against heron's gRPC port,
 * each result checked against tests/clients/fixture.json (answers from Qdrant's own engine).
 *
 * <p>Arguments: URL (default http://localhost:6334) and fixture path. Prints one line per example
 * and closes with {@code java: N passed, M failed}; exits 1 when anything failed. Where the guide's
 * snippet cannot run as printed the code differs, marked {@code GUIDE:}.
 */
public final class GuideExamples {
  private static final String PREFIX = "java_";
  private static int passed;
  private static int failed;

  private GuideExamples() {}

  interface Check {
    void run() throws Exception;
  }

  private static String name(String collection) {
    return PREFIX + collection;
  }

  private static void example(String title, Check body) {
    try {
      body.run();
      passed++;
      System.out.println("ok   " + title);
    } catch (Exception | AssertionError e) {
      failed++;
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      System.out.println("FAIL " + title + ": " + cause);
    }
  }

  private static VectorParams dense(int size) {
    return VectorParams.newBuilder().setSize(size).setDistance(Distance.Cosine).build();
  }

  private static VectorParams byteVector(int size) {
    return dense(size).toBuilder().setDatatype(Datatype.Uint8).build();
  }

  private static VectorParams multi(int size) {
    return dense(size).toBuilder()
        .setMultivectorConfig(
            MultiVectorConfig.newBuilder().setComparator(MultiVectorComparator.MaxSim))
        .build();
  }

  private static VectorsConfig named(Map<String, VectorParams> params) {
    return VectorsConfig.newBuilder()
        .setParamsMap(VectorParamsMap.newBuilder().putAllMap(params))
        .build();
  }

  /** The collections the guide's examples assume, shaped as in make_fixture.py. */
  private static void createCollections(QdrantClient client) throws Exception {
    Map<String, CreateCollection.Builder> shapes = new LinkedHashMap<>();
    shapes.put(
        "hybrid",
        CreateCollection.newBuilder()
            .setVectorsConfig(named(Map.of("dense", dense(3))))
            .setSparseVectorsConfig(
                SparseVectorConfig.newBuilder()
                    .putMap("sparse", SparseVectorParams.getDefaultInstance())));
    shapes.put(
        "mrl",
        CreateCollection.newBuilder()
            .setVectorsConfig(named(Map.of("mrl_byte", byteVector(4), "full", dense(4)))));
    shapes.put(
        "multistage",
        CreateCollection.newBuilder()
            .setVectorsConfig(
                named(
                    Map.of(
                        "dense", dense(3),
                        "mrl_byte", byteVector(4),
                        "full", dense(3),
                        "colbert", multi(2)))));
    shapes.put(
        "plain",
        CreateCollection.newBuilder()
            .setVectorsConfig(VectorsConfig.newBuilder().setParams(dense(3))));
    shapes.put(
        "lookup",
        CreateCollection.newBuilder()
            .setVectorsConfig(named(Map.of("512d-vector", dense(512)))));
    shapes.put(
        "another_collection",
        CreateCollection.newBuilder()
            .setVectorsConfig(named(Map.of("image-512", dense(512)))));
    for (Map.Entry<String, CreateCollection.Builder> shape : shapes.entrySet()) {
      String collection = name(shape.getKey());
      if (client.collectionExistsAsync(collection).get()) {
        client.deleteCollectionAsync(collection).get();
      }
      client.createCollectionAsync(shape.getValue().setCollectionName(collection).build()).get();
    }
    client
        .createPayloadIndexAsync(
            name("plain"), "price", PayloadSchemaType.Float, null, true, null, null)
        .get();
    client
        .createPayloadIndexAsync(
            name("plain"), "color", PayloadSchemaType.Keyword, null, true, null, null)
        .get();
  }

  private static List<Float> floats(JsonElement element) {
    List<Float> out = new ArrayList<>();
    for (JsonElement x : element.getAsJsonArray()) {
      out.add(x.getAsFloat());
    }
    return out;
  }

  private static Vector oneVector(JsonElement element) {
    if (element.isJsonObject()) {
      JsonObject sparse = element.getAsJsonObject();
      List<Integer> indices = new ArrayList<>();
      for (JsonElement i : sparse.getAsJsonArray("indices")) {
        indices.add(i.getAsInt());
      }
      return vector(floats(sparse.get("values")), indices);
    }
    JsonArray rows = element.getAsJsonArray();
    if (rows.size() > 0 && rows.get(0).isJsonArray()) {
      List<List<Float>> matrix = new ArrayList<>();
      for (JsonElement row : rows) {
        matrix.add(floats(row));
      }
      return multiVector(matrix);
    }
    return vector(floats(element));
  }

  private static PointId pointId(JsonElement element) {
    String text = element.getAsString();
    return text.contains("-") ? id(UUID.fromString(text)) : id(element.getAsLong());
  }

  private static Value payloadValue(JsonElement element) {
    String text = element.getAsString();
    if (element.getAsJsonPrimitive().isString()) {
      return value(text);
    }
    return text.contains(".") || text.contains("e") ? value(element.getAsDouble()) : value(element.getAsLong());
  }

  private static PointStruct fixturePoint(JsonObject point) {
    PointStruct.Builder builder = PointStruct.newBuilder().setId(pointId(point.get("id")));
    JsonElement vector = point.get("vector");
    if (vector.isJsonObject()) {
      Map<String, Vector> named = new HashMap<>();
      for (Map.Entry<String, JsonElement> entry : vector.getAsJsonObject().entrySet()) {
        named.put(entry.getKey(), oneVector(entry.getValue()));
      }
      builder.setVectors(namedVectors(named));
    } else {
      builder.setVectors(vectors(floats(vector)));
    }
    if (point.has("payload")) {
      for (Map.Entry<String, JsonElement> entry : point.getAsJsonObject("payload").entrySet()) {
        builder.putPayload(entry.getKey(), payloadValue(entry.getValue()));
      }
    }
    return builder.build();
  }

  private static void upsertFixture(QdrantClient client, JsonObject fixture) throws Exception {
    for (Map.Entry<String, JsonElement> entry :
        fixture.getAsJsonObject("collections").entrySet()) {
      List<PointStruct> points = new ArrayList<>();
      for (JsonElement point : entry.getValue().getAsJsonArray()) {
        points.add(fixturePoint(point.getAsJsonObject()));
      }
      client.upsertAsync(name(entry.getKey()), points).get();
    }
  }

  private static String idText(PointId id) {
    return id.hasUuid() ? id.getUuid() : Long.toString(id.getNum());
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new AssertionError(message);
    }
  }

  /**
   * Same ids as expected, each in a place whose expected score matches its own (ties may swap),
   * and each score close to the one Qdrant's engine gave.
   */
  private static void checkRanked(List<ScoredPoint> points, JsonElement expected) {
    JsonArray want = expected.getAsJsonArray();
    List<String> got = new ArrayList<>();
    for (ScoredPoint p : points) {
      got.add(idText(p.getId()) + "=" + p.getScore());
    }
    require(points.size() == want.size(), points.size() + " results, expected " + want + "; got " + got);
    Map<String, Double> byId = new HashMap<>();
    for (JsonElement e : want) {
      byId.put(e.getAsJsonArray().get(0).getAsString(), e.getAsJsonArray().get(1).getAsDouble());
    }
    for (int rank = 0; rank < points.size(); rank++) {
      ScoredPoint p = points.get(rank);
      String id = idText(p.getId());
      double tol = 1e-3 * Math.max(1.0, Math.abs(p.getScore()));
      Double expectedScore = byId.get(id);
      require(expectedScore != null, "id " + id + " is not among the expected " + want);
      double atRank = want.get(rank).getAsJsonArray().get(1).getAsDouble();
      require(Math.abs(expectedScore - atRank) <= tol, "rank " + rank + ": " + got + ", expected " + want);
      require(
          Math.abs(p.getScore() - expectedScore) <= tol,
          "id " + id + ": score " + p.getScore() + ", expected " + expectedScore);
    }
  }

  private static void checkOrderBy(List<ScoredPoint> points, JsonElement expected) {
    JsonArray want = expected.getAsJsonArray();
    List<String> got = new ArrayList<>();
    boolean same = points.size() == want.size();
    for (int i = 0; i < points.size(); i++) {
      ScoredPoint p = points.get(i);
      double value =
          p.getOrderValue().hasFloat() ? p.getOrderValue().getFloat() : p.getOrderValue().getInt();
      got.add(idText(p.getId()) + "=" + value);
      if (same) {
        JsonArray w = want.get(i).getAsJsonArray();
        same = idText(p.getId()).equals(w.get(0).getAsString())
            && Math.abs(value - w.get(1).getAsDouble()) < 1e-6;
      }
    }
    require(same, "got " + got + ", expected " + want);
  }

  private static String groupIdText(GroupId id) {
    if (id.hasStringValue()) {
      return id.getStringValue();
    }
    return id.hasIntegerValue()
        ? Long.toString(id.getIntegerValue())
        : Long.toString(id.getUnsignedValue());
  }

  private static void checkGroups(List<PointGroup> groups, JsonElement expected) {
    JsonArray want = expected.getAsJsonArray();
    require(groups.size() == want.size(), groups.size() + " groups, expected " + want.size());
    for (int i = 0; i < groups.size(); i++) {
      JsonObject w = want.get(i).getAsJsonObject();
      String id = groupIdText(groups.get(i).getId());
      require(id.equals(w.get("id").getAsString()), "group " + id + ", expected " + w.get("id"));
      checkRanked(groups.get(i).getHitsList(), w.get("hits"));
    }
  }

  public static void main(String[] args) throws Exception {
    URI url = URI.create(args.length > 0 ? args[0] : "http://localhost:6334");
    Path fixturePath = Path.of(args.length > 1 ? args[1] : "../fixture.json");
    JsonObject fixture = JsonParser.parseString(Files.readString(fixturePath)).getAsJsonObject();
    JsonObject expected = fixture.getAsJsonObject("expected");
    UUID uuid = UUID.fromString(fixture.get("uuid").getAsString());

    QdrantClient client =
        new QdrantClient(QdrantGrpcClient.newBuilder(url.getHost(), url.getPort(), false).build());

    example(
        "health_check",
        () -> {
          String version = client.healthCheckAsync().get().getVersion();
          require(version.startsWith("1."), "version " + version);
        });
    int before = failed;
    example(
        "setup (create collections, indexes, upsert)",
        () -> {
          createCollections(client);
          upsertFixture(client, fixture);
        });
    if (failed == before) {
      runExamples(client, expected, uuid);
    }
    client.close();
    System.out.println("java: " + passed + " passed, " + failed + " failed");
    System.exit(failed > 0 ? 1 : 0);
  }

  private static void runExamples(QdrantClient client, JsonObject expected, UUID uuid) {
    // Hybrid search: sparse and dense prefetches fused with RRF (and DBSF, described beside it).
    for (Fusion method : List.of(Fusion.RRF, Fusion.DBSF)) {
      example(
          "hybrid " + method,
          () ->
              checkRanked(
                  client
                      .queryAsync(
                          QueryPoints.newBuilder()
                              .setCollectionName(name("hybrid"))
                              .addPrefetch(
                                  PrefetchQuery.newBuilder()
                                      .setQuery(nearest(List.of(0.22f, 0.8f), List.of(1, 42)))
                                      .setUsing("sparse")
                                      .setLimit(20)
                                      .build())
                              .addPrefetch(
                                  PrefetchQuery.newBuilder()
                                      .setQuery(nearest(List.of(0.01f, 0.45f, 0.67f)))
                                      .setUsing("dense")
                                      .setLimit(20)
                                      .build())
                              .setQuery(fusion(method))
                              .build())
                      .get(),
                  expected.get(method.name().toLowerCase())));
    }

    example(
        "re-score: mrl_byte -> full",
        () ->
            checkRanked(
                client
                    .queryAsync(
                        QueryPoints.newBuilder()
                            .setCollectionName(name("mrl"))
                            .addPrefetch(
                                PrefetchQuery.newBuilder()
                                    .setQuery(nearest(1, 23, 45, 67)) // small byte vector
                                    .setLimit(1000)
                                    .setUsing("mrl_byte")
                                    .build())
                            .setQuery(nearest(0.01f, 0.299f, 0.45f, 0.67f)) // full vector
                            .setUsing("full")
                            .setLimit(10)
                            .build())
                    .get(),
                expected.get("mrl_full")));

    example(
        "re-score: dense -> colbert",
        () ->
            checkRanked(
                client
                    .queryAsync(
                        QueryPoints.newBuilder()
                            .setCollectionName(name("multistage"))
                            .addPrefetch(
                                PrefetchQuery.newBuilder()
                                    .setQuery(nearest(0.01f, 0.45f, 0.67f))
                                    .setUsing("dense") // GUIDE: no using (the default vector)
                                    .setLimit(100)
                                    .build())
                            .setQuery(
                                nearest(new float[][] {{0.1f, 0.2f}, {0.2f, 0.1f}, {0.8f, 0.9f}}))
                            .setUsing("colbert")
                            .setLimit(10)
                            .build())
                    .get(),
                expected.get("dense_colbert")));

    example(
        "re-score: mrl_byte -> full -> colbert",
        () ->
            checkRanked(
                client
                    .queryAsync(
                        QueryPoints.newBuilder()
                            .setCollectionName(name("multistage"))
                            .addPrefetch(
                                PrefetchQuery.newBuilder()
                                    .addPrefetch(
                                        PrefetchQuery.newBuilder()
                                            .setQuery(nearest(1, 23, 45, 67))
                                            .setUsing("mrl_byte")
                                            .setLimit(1000)
                                            .build())
                                    .setQuery(nearest(0.01f, 0.45f, 0.67f))
                                    .setUsing("full")
                                    .setLimit(100)
                                    .build())
                            .setQuery(
                                nearest(new float[][] {{0.1f, 0.2f}, {0.2f, 0.1f}, {0.8f, 0.9f}}))
                            .setUsing("colbert")
                            .setLimit(10)
                            .build())
                    .get(),
                expected.get("mrl_full_colbert")));

    example(
        "query by id",
        () ->
            checkRanked(
                client
                    .queryAsync(
                        QueryPoints.newBuilder()
                            .setCollectionName(name("plain"))
                            .setQuery(nearest(uuid))
                            .build())
                    .get(),
                expected.get("by_id")));

    example(
        "query by id with lookup_from",
        () ->
            checkRanked(
                client
                    .queryAsync(
                        QueryPoints.newBuilder()
                            .setCollectionName(name("lookup"))
                            .setQuery(nearest(uuid))
                            .setUsing("512d-vector")
                            .setLookupFrom(
                                LookupLocation.newBuilder()
                                    .setCollectionName(name("another_collection"))
                                    .setVectorName("image-512")
                                    .build())
                            .build())
                    .get(),
                expected.get("lookup_from")));

    example(
        "filtered prefetches, order_by price",
        () ->
            checkOrderBy(
                client
                    .queryAsync(
                        QueryPoints.newBuilder()
                            .setCollectionName(name("plain"))
                            .addPrefetch(
                                PrefetchQuery.newBuilder()
                                    .setQuery(nearest(0.01f, 0.45f, 0.67f))
                                    // GUIDE: Filter is Common.Filter, not Points.Filter
                                    .setFilter(
                                        Filter.newBuilder().addMust(matchKeyword("color", "red")).build())
                                    .setLimit(10)
                                    .build())
                            .addPrefetch(
                                PrefetchQuery.newBuilder()
                                    .setQuery(nearest(0.01f, 0.45f, 0.67f))
                                    .setFilter(
                                        Filter.newBuilder().addMust(matchKeyword("color", "green")).build())
                                    .setLimit(10)
                                    .build())
                            .setQuery(orderBy("price"))
                            .build())
                    .get(),
                expected.get("order_by")));

    example(
        "query groups by document_id",
        () ->
            checkGroups(
                client
                    .queryGroupsAsync(
                        QueryPointGroups.newBuilder()
                            .setCollectionName(name("plain"))
                            .setGroupBy("document_id")
                            .setQuery(nearest(0.01f, 0.45f, 0.67f))
                            .setLimit(4)
                            .setGroupSize(2)
                            .build())
                    .get(),
                expected.get("groups")));
  }
}
