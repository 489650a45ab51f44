// ParseRegistry: the feature repository format and its validation.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "absl/strings/str_replace.h"
#include "server/registry/registry.h"

namespace pantry {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

absl::StatusOr<std::shared_ptr<const Registry>> Parse(absl::string_view yaml) {
  return ParseRegistry(yaml, "repo.yaml", "/repo");
}

// Parses a repository that must succeed.
std::shared_ptr<const Registry> MustParse(absl::string_view yaml) {
  auto r = Parse(yaml);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : std::make_shared<const Registry>();
}

// Parses a repository that must fail; returns its error lines.
std::vector<std::string> Errors(absl::string_view yaml) {
  auto r = Parse(yaml);
  EXPECT_FALSE(r.ok()) << "parsed without error:\n" << yaml;
  if (r.ok()) return {};
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  return absl::StrSplit(r.status().message(), '\n');
}

std::string ErrorText(absl::string_view yaml) {
  auto r = Parse(yaml);
  EXPECT_FALSE(r.ok()) << "parsed without error:\n" << yaml;
  return r.ok() ? "" : std::string(r.status().message());
}

// A small valid repository; tests append to it or replace parts of it.
constexpr absl::string_view kHeader = R"(project: fraud
entities:
  - {name: user, join_keys: [user_id], value_type: INT64}
  - {name: merchant, join_keys: [merchant_id], value_type: STRING}
sources:
  - {name: txn_src, path: data/txn.parquet, timestamp_field: event_timestamp}
)";

constexpr absl::string_view kViews = R"(feature_views:
  - name: user_stats
    entities: [user]
    source: txn_src
    ttl: 7d
    schema:
      - {name: txn_count_7d, dtype: INT64}
      - {name: avg_amount_7d, dtype: DOUBLE}
)";

std::string Repo(absl::string_view extra = "") { return absl::StrCat(kHeader, kViews, extra); }

TEST(RegistryParser, ParsesCompleteRepository) {
  auto reg = MustParse(R"(project: fraud
online_store: {type: redis, host: redis.local, port: 6380, password: "s3cret", db: 2, pool_size: 8, connect_timeout: 2s, request_timeout: 250ms, key_ttl: 1d, max_pending_requests: 500}
offline_store: {path: ./offline}
serving: {max_entities_per_request: 100, max_features_per_request: 50, max_write_rows_per_request: 20}
entities:
  - {name: user, join_keys: [user_id], value_type: INT64, description: "A card holder"}
sources:
  - {name: txn_src, path: data/txn.parquet, timestamp_field: event_timestamp, created_timestamp_field: created, description: raw}
feature_views:
  - name: user_stats
    entities: [user]
    ttl: 7d
    source: txn_src
    online: false
    owner: risk-team
    tags: {team: risk}
    description: per user
    schema:
      - {name: txn_count_7d, dtype: INT64, description: count, tags: {pii: "no"}}
      - {name: avg_amount_7d, dtype: DOUBLE}
feature_services:
  - {name: fraud_v1, features: [user_stats:txn_count_7d, "user_stats:*"], owner: ml, description: model, tags: {v: "1"}}
)");
  EXPECT_EQ(reg->project, "fraud");

  const OnlineStoreConfig& os = reg->online_store;
  EXPECT_EQ(os.type, OnlineStoreConfig::Type::kRedis);
  EXPECT_EQ(os.host, "redis.local");
  EXPECT_EQ(os.port, 6380);
  EXPECT_EQ(os.password, "s3cret");
  EXPECT_EQ(os.db, 2);
  EXPECT_EQ(os.pool_size, 8);
  EXPECT_EQ(os.connect_timeout, 2 * kMicrosPerSecond);
  EXPECT_EQ(os.request_timeout, 250'000);
  EXPECT_EQ(os.key_ttl, 86400 * kMicrosPerSecond);
  EXPECT_EQ(os.max_pending_requests, 500);

  EXPECT_EQ(reg->offline_store.path, "/repo/offline");
  EXPECT_EQ(reg->serving.max_entities_per_request, 100);
  EXPECT_EQ(reg->serving.max_features_per_request, 50);
  EXPECT_EQ(reg->serving.max_write_rows_per_request, 20);

  const Entity* user = reg->FindEntity("user");
  ASSERT_NE(user, nullptr);
  EXPECT_THAT(user->join_keys, ElementsAre("user_id"));
  EXPECT_EQ(user->value_type, ValueType::kInt64);
  EXPECT_EQ(user->description, "A card holder");

  ASSERT_EQ(reg->sources.count("txn_src"), 1u);
  const DataSource& src = reg->sources.at("txn_src");
  EXPECT_EQ(src.path, "/repo/data/txn.parquet");
  EXPECT_EQ(src.timestamp_field, "event_timestamp");
  EXPECT_EQ(src.created_timestamp_field, "created");
  EXPECT_EQ(src.description, "raw");

  const FeatureView* view = reg->FindFeatureView("user_stats");
  ASSERT_NE(view, nullptr);
  EXPECT_THAT(view->entities, ElementsAre("user"));
  ASSERT_THAT(view->join_keys, SizeIs(1));
  EXPECT_EQ(view->join_keys[0].name, "user_id");
  EXPECT_EQ(view->join_keys[0].value_type, ValueType::kInt64);
  EXPECT_EQ(view->ttl, 7 * 86400 * kMicrosPerSecond);
  EXPECT_EQ(view->source, "txn_src");
  EXPECT_FALSE(view->online);
  EXPECT_EQ(view->owner, "risk-team");
  EXPECT_EQ(view->description, "per user");
  EXPECT_EQ(view->tags.at("team"), "risk");
  ASSERT_THAT(view->schema, SizeIs(2));
  EXPECT_EQ(view->schema[0].name, "txn_count_7d");
  EXPECT_EQ(view->schema[0].dtype, ValueType::kInt64);
  EXPECT_EQ(view->schema[0].description, "count");
  EXPECT_EQ(view->schema[0].tags.at("pii"), "no");
  EXPECT_EQ(view->schema[1].dtype, ValueType::kDouble);

  const FeatureService* svc = reg->FindFeatureService("fraud_v1");
  ASSERT_NE(svc, nullptr);
  std::vector<std::string> refs;
  for (const FeatureRef& r : svc->features) refs.push_back(r.ToString());
  EXPECT_THAT(refs, ElementsAre("user_stats:txn_count_7d", "user_stats:avg_amount_7d"));
  EXPECT_EQ(svc->owner, "ml");
  EXPECT_EQ(svc->description, "model");
  EXPECT_EQ(svc->tags.at("v"), "1");
}

TEST(RegistryParser, OptionalKeysTakeTheirDefaults) {
  auto reg = MustParse(Repo());
  EXPECT_EQ(reg->online_store.type, OnlineStoreConfig::Type::kMemory);
  EXPECT_EQ(reg->offline_store.path, "/repo/offline");
  const ServingConfig defaults;
  EXPECT_EQ(reg->serving.max_entities_per_request, defaults.max_entities_per_request);
  EXPECT_EQ(reg->serving.max_features_per_request, defaults.max_features_per_request);
  EXPECT_EQ(reg->serving.max_write_rows_per_request, defaults.max_write_rows_per_request);
  EXPECT_TRUE(reg->feature_services.empty());

  auto minimal = MustParse(R"(project: p
entities: [{name: e, join_keys: [k], value_type: STRING}]
feature_views:
  - {name: v, entities: [e], schema: [{name: f, dtype: BOOL}]}
)");
  const FeatureView* v = minimal->FindFeatureView("v");
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->online);
  EXPECT_EQ(v->ttl, 0);
  EXPECT_EQ(v->source, "");
  EXPECT_TRUE(v->tags.empty());
}

TEST(RegistryParser, RepositoryWithOnlyAProjectIsValid) {
  auto reg = MustParse("project: empty_repo\n");
  EXPECT_EQ(reg->project, "empty_repo");
  EXPECT_TRUE(reg->entities.empty());
  EXPECT_TRUE(reg->feature_views.empty());
}

TEST(RegistryParser, KeysWithoutValueMeanNotSet) {
  auto reg = MustParse(R"(project: fraud
online_store:
offline_store: ~
serving:
entities:
  - {name: user, join_keys: [user_id], value_type: INT64, description: ~}
feature_views:
  - name: v
    entities: [user]
    ttl:
    tags:
    schema: [{name: f, dtype: INT64}]
)");
  EXPECT_EQ(reg->online_store.type, OnlineStoreConfig::Type::kMemory);
  EXPECT_EQ(reg->FindFeatureView("v")->ttl, 0);
}

TEST(RegistryParser, RecordsTextSourceAndBaseDir) {
  const std::string yaml = Repo();
  auto reg = MustParse(yaml);
  EXPECT_EQ(reg->yaml, yaml);
  EXPECT_EQ(reg->source_file, "repo.yaml");
  EXPECT_EQ(reg->base_dir, "/repo");
}

TEST(RegistryParser, RelativePathsResolveAgainstBaseDirLexicallyNormal) {
  auto r = ParseRegistry(R"(project: p
offline_store: {path: ../store/./offline/}
sources:
  - {name: a, path: ./data/../data/a.parquet, timestamp_field: ts}
  - {name: b, path: /abs/b/*.parquet, timestamp_field: ts}
  - {name: c, path: dir/, timestamp_field: ts}
)",
                         "repo.yaml", "/srv/repo/");
  ASSERT_TRUE(r.ok()) << r.status();
  const Registry& reg = **r;
  EXPECT_EQ(reg.base_dir, "/srv/repo");
  EXPECT_EQ(reg.offline_store.path, "/srv/store/offline");
  EXPECT_EQ(reg.sources.at("a").path, "/srv/repo/data/a.parquet");
  EXPECT_EQ(reg.sources.at("b").path, "/abs/b/*.parquet");
  EXPECT_EQ(reg.sources.at("c").path, "/srv/repo/dir");
}

TEST(RegistryParser, RelativeOrEmptyBaseDirIsMadeAbsolute) {
  const std::string cwd = std::filesystem::current_path().lexically_normal().string();
  auto r = ParseRegistry("project: p\n", "repo.yaml", "");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->base_dir, cwd);
  r = ParseRegistry("project: p\n", "repo.yaml", "sub");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->base_dir, cwd + "/sub");
  EXPECT_EQ((*r)->offline_store.path, cwd + "/sub/offline");
}

TEST(RegistryParser, EmptySourceNameIsReplacedInMessages) {
  auto r = ParseRegistry("entities: []\n", "", "/repo");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), StartsWith("<input>:1:1: project:"));
}

TEST(RegistryParser, MalformedYamlReportsParserPosition) {
  EXPECT_THAT(Errors("project: fraud\nentities: x\n  bad: [\n"),
              ElementsAre(StartsWith("repo.yaml:3:")));
  EXPECT_THAT(ErrorText("project: p\na: b\n c: d\n"),
              StartsWith("repo.yaml:3:3: invalid YAML: illegal map value"));
}

TEST(RegistryParser, EmptyDocumentNeedsAProject) {
  for (absl::string_view yaml : {"", "\n\n", "# only a comment\n", "~\n"}) {
    EXPECT_THAT(Errors(yaml),
                ElementsAre(StartsWith("repo.yaml:1:1: project: the feature repository is empty")))
        << yaml;
  }
}

TEST(RegistryParser, MissingProjectIsRejected) {
  EXPECT_THAT(Errors("entities: []\n"),
              ElementsAre("repo.yaml:1:1: project: required key is missing or has no value"));
  EXPECT_THAT(Errors("project:\nentities: []\n"),
              ElementsAre(StartsWith("repo.yaml:1:1: project:")));
}

// yaml-cpp 0.7's LoadAll loops forever, allocating, on these.
TEST(RegistryParser, StrayCommaIsAnErrorNotAHang) {
  EXPECT_THAT(Errors(","), ElementsAre("repo.yaml:1:1: invalid YAML: unexpected ','"));
  EXPECT_THAT(Errors("# intro\n, more intro\nproject: p\n"),
              ElementsAre("repo.yaml:2:1: invalid YAML: unexpected ','"));
  EXPECT_THAT(Errors("project: p\n---\n,\n"),
              ElementsAre(StartsWith("repo.yaml:3:1: invalid YAML: unexpected ','")));
}

TEST(RegistryParser, TopLevelMustBeAMap) {
  EXPECT_THAT(Errors("- project: p\n"),
              ElementsAre(HasSubstr("(top level): expected a map with project")));
  EXPECT_THAT(Errors("just a string\n"), ElementsAre(HasSubstr("got 'just a string'")));
}

TEST(RegistryParser, MoreThanOneDocumentIsRejected) {
  EXPECT_THAT(Errors("project: a\n---\nproject: b\n"),
              ElementsAre("repo.yaml:3:1: (document): a second YAML document starts here; a "
                          "feature repository is one document"));
  EXPECT_THAT(Errors("---\nproject: a\n---\n"), ElementsAre(HasSubstr("second YAML document")));
  MustParse("---\nproject: a\n...\n");
}

TEST(RegistryParser, UnknownTopLevelKeyIsRejectedWithLine) {
  EXPECT_THAT(Errors("project: fraud\nentites: []\n"),
              ElementsAre(StartsWith(
                  "repo.yaml:2:1: entites: unknown key 'entites' (did you mean 'entities'?)")));
}

TEST(RegistryParser, UnknownNestedKeySuggestsTheClosestKnownKey) {
  const std::string yaml = absl::StrCat(kHeader, R"(feature_views:
  - name: user_stats
    entities: [user]
    ownr: me
    schema:
      - {name: f, dtpye: INT64}
)");
  EXPECT_THAT(
      Errors(yaml),
      ElementsAre(
          StartsWith("repo.yaml:10:5: feature_views[0].ownr: unknown key 'ownr' (did you mean "
                     "'owner'?)"),
          // The misspelt dtype also leaves dtype missing; that error points
          // at the feature's map, which starts before the misspelt key.
          StartsWith("repo.yaml:12:9: feature_views[0].schema[0].dtype: required key"),
          StartsWith("repo.yaml:12:19: feature_views[0].schema[0].dtpye: unknown key 'dtpye' "
                     "(did you mean 'dtype'?)")));
}

TEST(RegistryParser, UnknownKeyFarFromEveryKnownKeyGetsNoSuggestion) {
  const std::string text = ErrorText("project: p\nonline_store: {type: redis, colour: blue}\n");
  EXPECT_THAT(text,
              HasSubstr("online_store.colour: unknown key 'colour'; valid keys here: type, "));
  EXPECT_THAT(text, Not(HasSubstr("did you mean")));
}

TEST(RegistryParser, RepeatedKeyInOneMapIsRejected) {
  EXPECT_THAT(Errors("project: a\nproject: b\n"),
              ElementsAre("repo.yaml:2:1: project: key 'project' appears twice (first at line 1)"));
}

TEST(RegistryParser, CollectsEveryErrorSortedByPosition) {
  const std::vector<std::string> errors = Errors(R"(project: fraud
entities:
  - {name: user, join_keys: [user_id], value_type: FLOAT}
feature_views:
  - name: v
    entities: [usr]
    ttl: 7x
    schema:
      - {name: f, dtype: INT65}
feature_services:
  - {name: s, features: [nope:f]}
)");
  EXPECT_THAT(
      errors,
      ElementsAre(
          StartsWith("repo.yaml:3:52: entities[0].value_type: type FLOAT cannot be an entity key"),
          "repo.yaml:6:16: feature_views[0].entities[0]: unknown entity 'usr' (did you mean "
          "'user'?)",
          StartsWith("repo.yaml:7:10: feature_views[0].ttl: invalid duration '7x'"),
          StartsWith("repo.yaml:9:26: feature_views[0].schema[0].dtype: unknown type 'INT65'"),
          "repo.yaml:11:26: feature_services[0].features[0]: unknown feature view 'nope' in "
          "reference 'nope:f'"));
}

TEST(RegistryParser, DuplicateNamesAreRejected) {
  EXPECT_THAT(ErrorText(R"(project: p
entities:
  - {name: user, join_keys: [id], value_type: INT64}
  - {name: user, join_keys: [id2], value_type: INT64}
)"),
              HasSubstr("repo.yaml:4:12: entities[1].name: duplicate entity 'user' (first "
                        "defined at line 3)"));
  EXPECT_THAT(ErrorText(R"(project: p
sources:
  - {name: s, path: a, timestamp_field: ts}
  - {name: s, path: b, timestamp_field: ts}
)"),
              HasSubstr("sources[1].name: duplicate data source 's'"));
  EXPECT_THAT(ErrorText(Repo(R"(  - name: user_stats
    entities: [user]
    schema: [{name: f, dtype: INT64}]
)")),
              HasSubstr("feature_views[1].name: duplicate feature view 'user_stats'"));
  EXPECT_THAT(ErrorText(absl::StrCat(kHeader, R"(feature_views:
  - name: v
    entities: [user]
    schema: [{name: f, dtype: INT64}, {name: f, dtype: DOUBLE}]
)")),
              HasSubstr("feature_views[0].schema[1].name: duplicate feature 'f'"));
  EXPECT_THAT(ErrorText(Repo(R"(feature_services:
  - {name: s, features: ["user_stats:*"]}
  - {name: s, features: ["user_stats:*"]}
)")),
              HasSubstr("feature_services[1].name: duplicate feature service 's'"));
  EXPECT_THAT(ErrorText(R"(project: p
entities:
  - {name: user, join_keys: [id, id], value_type: INT64}
)"),
              HasSubstr("entities[0].join_keys[1]: duplicate join key 'id'"));
}

TEST(RegistryParser, DuplicateViewIsReportedOnce) {
  EXPECT_THAT(Errors(Repo(R"(  - name: user_stats
    entities: [merchant]
    schema: [{name: other, dtype: INT64}]
)")),
              SizeIs(1));
}

TEST(RegistryParser, NamesMustBeIdentifiers) {
  for (absl::string_view bad : {"user-stats", "1abc", "a:b", "has space", "x#y", "\"\""}) {
    const std::string yaml = absl::StrCat("project: p\nentities:\n  - {name: ", bad,
                                          ", join_keys: [k], value_type: INT64}\n");
    EXPECT_THAT(ErrorText(yaml), HasSubstr("entities[0].name: invalid name")) << bad;
  }
  EXPECT_THAT(ErrorText("project: my-project\n"), HasSubstr("project: invalid name 'my-project'"));
  EXPECT_THAT(ErrorText("project: p\nentities: [{name: e, join_keys: [a.b], value_type: INT64}]\n"),
              HasSubstr("entities[0].join_keys[0]: invalid join key name 'a.b'"));
  EXPECT_THAT(ErrorText(absl::StrCat(kHeader, R"(feature_views:
  - {name: v, entities: [user], schema: [{name: "f:x", dtype: INT64}]}
)")),
              HasSubstr("feature_views[0].schema[0].name: invalid name 'f:x'"));
  MustParse("project: _Under_score9\n");
}

TEST(RegistryParser, UnknownReferencesAreReported) {
  EXPECT_THAT(ErrorText(absl::StrCat(kHeader, R"(feature_views:
  - {name: v, entities: [customer], source: txn_sr, schema: [{name: f, dtype: INT64}]}
)")),
              AllOf(HasSubstr("feature_views[0].entities[0]: unknown entity 'customer'"),
                    HasSubstr("feature_views[0].source: unknown data source 'txn_sr' (did you mean "
                              "'txn_src'?)")));
  EXPECT_THAT(ErrorText(Repo(R"(feature_services:
  - {name: s, features: [user_stats:nope, "other:*", bad]}
)")),
              AllOf(HasSubstr("features[0]: unknown feature 'nope' in feature view 'user_stats'"),
                    HasSubstr("features[1]: unknown feature view 'other' in reference 'other:*'"),
                    HasSubstr("features[2]: malformed feature reference 'bad': expected "
                              "view:feature")));
}

TEST(RegistryParser, UnknownDtypeListsValidTypes) {
  const std::string text = ErrorText(absl::StrCat(kHeader, R"(feature_views:
  - {name: v, entities: [user], schema: [{name: f, dtype: int64}, {name: g, dtype: TEXT}]}
)"));
  EXPECT_THAT(text, HasSubstr("unknown type 'int64' (did you mean 'INT64'?); valid types: INT32, "
                              "INT64, FLOAT, DOUBLE, BOOL, STRING, BYTES, UNIX_TIMESTAMP, "
                              "INT32_LIST"));
  EXPECT_THAT(text, HasSubstr("unknown type 'TEXT'; valid types:"));
}

TEST(RegistryParser, EveryValueTypeIsAcceptedAsDtype) {
  for (absl::string_view t :
       {"INT32", "INT64", "FLOAT", "DOUBLE", "BOOL", "STRING", "BYTES", "UNIX_TIMESTAMP",
        "INT32_LIST", "INT64_LIST", "FLOAT_LIST", "DOUBLE_LIST", "BOOL_LIST", "STRING_LIST",
        "BYTES_LIST", "UNIX_TIMESTAMP_LIST"}) {
    auto reg = MustParse(absl::StrCat(kHeader,
                                      "feature_views:\n  - {name: v, entities: [user], "
                                      "schema: [{name: f, dtype: ",
                                      t, "}]}\n"));
    ASSERT_NE(reg->FindFeatureView("v"), nullptr) << t;
    EXPECT_EQ(ValueTypeName(reg->FindFeatureView("v")->schema[0].dtype), t);
  }
}

TEST(RegistryParser, EntityValueTypeMustBeAKeyType) {
  for (absl::string_view t : {"INT32", "INT64", "STRING", "BYTES"}) {
    auto reg = MustParse(
        absl::StrCat("project: p\nentities: [{name: e, join_keys: [k], value_type: ", t, "}]\n"));
    EXPECT_EQ(ValueTypeName(reg->FindEntity("e")->value_type), t);
  }
  for (absl::string_view t : {"FLOAT", "DOUBLE", "BOOL", "UNIX_TIMESTAMP", "INT64_LIST"}) {
    EXPECT_THAT(ErrorText(absl::StrCat(
                    "project: p\nentities: [{name: e, join_keys: [k], value_type: ", t, "}]\n")),
                HasSubstr(absl::StrCat("entities[0].value_type: type ", t,
                                       " cannot be an entity key type; use one of INT32, INT64, "
                                       "STRING, BYTES")));
  }
  EXPECT_THAT(ErrorText("project: p\nentities: [{name: e, join_keys: [k]}]\n"),
              HasSubstr("entities[0].value_type: required key is missing"));
}

TEST(RegistryParser, TtlAcceptsUnitsAndZero) {
  const std::vector<std::pair<std::string, Micros>> cases = {{"0", 0},
                                                             {"0s", 0},
                                                             {"\"0\"", 0},
                                                             {"90s", 90 * kMicrosPerSecond},
                                                             {"15m", 900 * kMicrosPerSecond},
                                                             {"2h", 7200 * kMicrosPerSecond},
                                                             {"7d", 7 * 86400 * kMicrosPerSecond}};
  for (const auto& [text, micros] : cases) {
    auto reg = MustParse(absl::StrCat(kHeader,
                                      "feature_views:\n  - {name: v, entities: [user], "
                                      "ttl: ",
                                      text, ", schema: [{name: f, dtype: INT64}]}\n"));
    ASSERT_NE(reg->FindFeatureView("v"), nullptr) << text;
    EXPECT_EQ(reg->FindFeatureView("v")->ttl, micros) << text;
  }
}

TEST(RegistryParser, BadDurationIsRejectedWithPath) {
  for (absl::string_view bad : {"7x", "-1d", "1.5h", "d", "250ms", "7 days"}) {
    const std::string yaml = absl::StrCat(kHeader, "feature_views:\n  - name: v\n    ttl: ", bad,
                                          "\n    entities: [user]\n    schema: [{name: f, dtype: "
                                          "INT64}]\n");
    EXPECT_THAT(Errors(yaml),
                ElementsAre(StartsWith(absl::StrCat(
                    "repo.yaml:9:10: feature_views[0].ttl: invalid duration '", bad, "'"))))
        << bad;
  }
  EXPECT_THAT(ErrorText(absl::StrCat(kHeader, R"(feature_views:
  - {name: v, entities: [user], ttl: [1d], schema: [{name: f, dtype: INT64}]}
)")),
              HasSubstr("feature_views[0].ttl: expected a duration such as 7d, got a list"));
}

TEST(RegistryParser, WrongNodeTypesAreRejected) {
  EXPECT_THAT(ErrorText("project: p\nentities: {name: user}\n"),
              HasSubstr("repo.yaml:2:11: entities: expected a list of entities, got a map"));
  EXPECT_THAT(ErrorText("project: p\nentities: [user]\n"),
              HasSubstr("entities[0]: expected an entity: a map with name, join_keys and "
                        "value_type, got 'user'"));
  EXPECT_THAT(ErrorText("project: p\nentities: [{name: e, join_keys: k, value_type: INT64}]\n"),
              HasSubstr("entities[0].join_keys: expected a list of strings, got 'k'"));
  EXPECT_THAT(ErrorText("project: p\nentities: [{name: e, join_keys: [[a]], value_type: INT64}]\n"),
              HasSubstr("entities[0].join_keys[0]: expected a string, got a list"));
  EXPECT_THAT(ErrorText("project: [p]\n"), HasSubstr("project: expected a string, got a list"));
  EXPECT_THAT(ErrorText("project: p\nonline_store: redis\n"),
              HasSubstr("online_store: expected a map such as {type: redis"));
  EXPECT_THAT(ErrorText("project: p\nserving: [1]\n"),
              HasSubstr("serving: expected a map of request limits, got a list"));
  EXPECT_THAT(ErrorText(absl::StrCat(kHeader, R"(feature_views:
  - name: v
    entities: [user]
    tags: [a, b]
    schema: {name: f, dtype: INT64}
)")),
              AllOf(HasSubstr("feature_views[0].tags: expected a map of tag names to values, got "
                              "a list"),
                    HasSubstr("feature_views[0].schema: expected a list of features, got a map")));
  EXPECT_THAT(ErrorText(absl::StrCat(kHeader, R"(feature_views:
  - name: v
    entities: [user]
    online: maybe
    tags: {team: [x]}
    schema: [{name: f, dtype: INT64}]
)")),
              AllOf(HasSubstr("feature_views[0].online: expected true or false, got 'maybe'"),
                    HasSubstr("feature_views[0].tags.team: tag values must be strings, got a "
                              "list")));
  EXPECT_THAT(ErrorText("project: p\n[a]: b\n"), HasSubstr("keys must be plain words"));
}

TEST(RegistryParser, JoinKeysAreTheUnionOfEntityKeysSortedByName) {
  auto reg = MustParse(R"(project: p
entities:
  - {name: user, join_keys: [user_id], value_type: INT64}
  - {name: merchant, join_keys: [merchant_id, branch], value_type: STRING}
feature_views:
  - {name: v, entities: [user, merchant], schema: [{name: f, dtype: INT64}]}
)");
  const FeatureView* v = reg->FindFeatureView("v");
  ASSERT_NE(v, nullptr);
  EXPECT_THAT(v->entities, ElementsAre("user", "merchant"));
  ASSERT_THAT(v->join_keys, SizeIs(3));
  EXPECT_EQ(v->join_keys[0].name, "branch");
  EXPECT_EQ(v->join_keys[0].value_type, ValueType::kString);
  EXPECT_EQ(v->join_keys[1].name, "merchant_id");
  EXPECT_EQ(v->join_keys[1].value_type, ValueType::kString);
  EXPECT_EQ(v->join_keys[2].name, "user_id");
  EXPECT_EQ(v->join_keys[2].value_type, ValueType::kInt64);
}

TEST(RegistryParser, JoinKeySharedByTwoEntitiesOfOneViewIsRejected) {
  const std::string yaml = R"(project: p
entities:
  - {name: buyer, join_keys: [user_id], value_type: INT64}
  - {name: seller, join_keys: [user_id], value_type: INT64}
feature_views:
  - {name: ok_a, entities: [buyer], schema: [{name: f, dtype: INT64}]}
  - {name: ok_b, entities: [seller], schema: [{name: f, dtype: INT64}]}
  - {name: v, entities: [buyer, seller], schema: [{name: f, dtype: INT64}]}
)";
  EXPECT_THAT(Errors(yaml),
              ElementsAre("repo.yaml:8:33: feature_views[2].entities[1]: join key 'user_id' of "
                          "entity 'seller' is also a join key of entity 'buyer'; the join keys of "
                          "a feature view must be unique"));
}

TEST(RegistryParser, EntityListedTwiceInAViewIsRejected) {
  EXPECT_THAT(ErrorText(absl::StrCat(kHeader, R"(feature_views:
  - {name: v, entities: [user, user], schema: [{name: f, dtype: INT64}]}
)")),
              HasSubstr("feature_views[0].entities[1]: duplicate entity 'user'"));
}

TEST(RegistryParser, FeatureNamedLikeAJoinKeyIsRejected) {
  EXPECT_THAT(ErrorText(absl::StrCat(kHeader, R"(feature_views:
  - {name: v, entities: [user], schema: [{name: user_id, dtype: INT64}]}
)")),
              HasSubstr("feature_views[0].schema[0].name: feature 'user_id' has the name of a "
                        "join key of entity 'user'"));
}

TEST(RegistryParser, EmptyListsWhereSomethingIsNeededAreRejected) {
  EXPECT_THAT(ErrorText(absl::StrCat(kHeader, R"(feature_views:
  - {name: v, entities: [user], schema: []}
  - {name: w, entities: [], schema: [{name: f, dtype: INT64}]}
)")),
              AllOf(HasSubstr("feature_views[0].schema: a feature view needs at least one feature"),
                    HasSubstr("feature_views[1].entities: a feature view needs at least one "
                              "entity")));
  EXPECT_THAT(ErrorText(absl::StrCat(kHeader, R"(feature_views:
  - {name: v, entities: [user]}
)")),
              HasSubstr("feature_views[0].schema: required key is missing"));
  EXPECT_THAT(ErrorText(Repo("feature_services: [{name: s, features: []}]\n")),
              HasSubstr("feature_services[0].features: a feature service needs at least one"));
  EXPECT_THAT(ErrorText("project: p\nentities: [{name: e, join_keys: [], value_type: INT64}]\n"),
              HasSubstr("entities[0].join_keys: an entity needs at least one join key"));
}

TEST(RegistryParser, SourceNeedsPathAndTimestampField) {
  const std::string text = ErrorText(R"(project: p
sources:
  - {name: s}
  - {name: t, path: "", timestamp_field: ""}
)");
  EXPECT_THAT(text, HasSubstr("sources[0].path: required key is missing"));
  EXPECT_THAT(text, HasSubstr("sources[0].timestamp_field: required key is missing"));
  EXPECT_THAT(text, HasSubstr("sources[1].path: must not be empty"));
  EXPECT_THAT(text, HasSubstr("sources[1].timestamp_field: must not be empty"));
}

TEST(RegistryParser, FeatureServiceExpandsWildcardsInOrderWithoutDuplicates) {
  auto reg = MustParse(absl::StrCat(kHeader, R"(feature_views:
  - name: a
    entities: [user]
    schema: [{name: x, dtype: INT64}, {name: y, dtype: INT64}, {name: z, dtype: INT64}]
  - name: b
    entities: [merchant]
    schema: [{name: x, dtype: INT64}]
feature_services:
  - name: s
    features: ["a:y", "b:*", "a:*", "a:y", "b:x"]
)"));
  std::vector<std::string> refs;
  for (const FeatureRef& r : reg->FindFeatureService("s")->features) refs.push_back(r.ToString());
  EXPECT_THAT(refs, ElementsAre("a:y", "b:x", "a:x", "a:z"));
}

TEST(RegistryParser, OnlineStoreTypeMustBeMemoryOrRedis) {
  EXPECT_THAT(Errors("project: p\nonline_store: {type: rediss}\n"),
              ElementsAre("repo.yaml:2:22: online_store.type: unknown online store type 'rediss' "
                          "(did you mean 'redis'?); valid types: memory, redis, redis_cluster"));
  // The other keys are still checked, as Redis settings.
  EXPECT_THAT(Errors("project: p\nonline_store: {type: reddis, host: h, port: 0}\n"),
              ElementsAre(HasSubstr("online_store.type: unknown online store type 'reddis'"),
                          HasSubstr("online_store.port: value 0 is out of range")));
  auto reg = MustParse("project: p\nonline_store: {type: memory}\n");
  EXPECT_EQ(reg->online_store.type, OnlineStoreConfig::Type::kMemory);
}

TEST(RegistryParser, RedisSettingsWithoutRedisTypeAreRejected) {
  EXPECT_THAT(Errors("project: p\nonline_store:\n  host: redis.prod\n  port: 6379\n"),
              ElementsAre(StartsWith("repo.yaml:3:3: online_store.host: 'host' applies only to "
                                     "the redis online store"),
                          StartsWith("repo.yaml:4:3: online_store.port:")));
}

TEST(RegistryParser, RedisAddressIsShorthandForHostAndPort) {
  auto reg = MustParse("project: p\nonline_store: {type: redis, address: 10.0.0.5:7000}\n");
  EXPECT_EQ(reg->online_store.host, "10.0.0.5");
  EXPECT_EQ(reg->online_store.port, 7000);
  reg = MustParse("project: p\nonline_store: {type: redis, address: \"[::1]:6390\"}\n");
  EXPECT_EQ(reg->online_store.host, "::1");
  EXPECT_EQ(reg->online_store.port, 6390);

  EXPECT_THAT(ErrorText("project: p\nonline_store: {type: redis, address: a:1, host: b}\n"),
              HasSubstr("online_store.address: give either 'address' or 'host'/'port', not both"));
  EXPECT_THAT(ErrorText("project: p\nonline_store: {type: redis, address: localhost}\n"),
              HasSubstr("online_store.address: invalid address 'localhost': expected host:port"));
  EXPECT_THAT(ErrorText("project: p\nonline_store: {type: redis, address: \"h:99999\"}\n"),
              HasSubstr("port 99999 in address 'h:99999' is out of range"));
}

TEST(RegistryParser, NumericFieldsOutOfRangeAreRejected) {
  const std::string text = ErrorText(R"(project: p
online_store: {type: redis, port: 70000, pool_size: 0, db: -1, max_pending_requests: 0}
serving: {max_entities_per_request: 0, max_features_per_request: lots, max_write_rows_per_request: 99999999999}
)");
  EXPECT_THAT(text, HasSubstr("online_store.port: value 70000 is out of range: expected a whole "
                              "number from 1 to 65535"));
  EXPECT_THAT(text, HasSubstr("online_store.pool_size: value 0 is out of range: expected a whole "
                              "number from 1 to 256"));
  EXPECT_THAT(text, HasSubstr("online_store.db: value -1 is out of range"));
  EXPECT_THAT(text, HasSubstr("online_store.max_pending_requests: value 0 is out of range: "
                              "expected a whole number >= 1"));
  EXPECT_THAT(text, HasSubstr("serving.max_entities_per_request: value 0 is out of range"));
  EXPECT_THAT(text, HasSubstr("serving.max_features_per_request: expected a whole number >= 1, "
                              "got 'lots'"));
  EXPECT_THAT(text, HasSubstr("serving.max_write_rows_per_request: value 99999999999 is out of "
                              "range"));
  EXPECT_THAT(ErrorText("project: p\nonline_store: {type: redis, pool_size: 257}\n"),
              HasSubstr("online_store.pool_size: value 257 is out of range"));
  EXPECT_THAT(ErrorText("project: p\nonline_store: {type: redis, port: 1.5}\n"),
              HasSubstr("online_store.port: expected a whole number from 1 to 65535, got '1.5'"));
}

TEST(RegistryParser, TimeoutsAcceptMillisecondsAndMustBePositive) {
  auto reg = MustParse(
      "project: p\nonline_store: {type: redis, connect_timeout: 1500ms, request_timeout: 2m, "
      "key_ttl: 12h}\n");
  EXPECT_EQ(reg->online_store.connect_timeout, 1'500'000);
  EXPECT_EQ(reg->online_store.request_timeout, 120 * kMicrosPerSecond);
  EXPECT_EQ(reg->online_store.key_ttl, 12 * 3600 * kMicrosPerSecond);

  reg = MustParse("project: p\nonline_store: {type: redis, key_ttl: 0}\n");
  EXPECT_EQ(reg->online_store.key_ttl, 0);

  const std::string text = ErrorText(
      "project: p\nonline_store: {type: redis, connect_timeout: 0ms, request_timeout: 5x, key_ttl: "
      "100ms}\n");
  EXPECT_THAT(text, HasSubstr("online_store.connect_timeout: must be greater than 0"));
  EXPECT_THAT(text, HasSubstr("online_store.request_timeout: invalid duration '5x': expected a "
                              "whole number with unit ms, s, m, h or d"));
  EXPECT_THAT(text, HasSubstr("online_store.key_ttl: invalid duration '100ms'"));
}

TEST(RegistryParser, ExampleRepositoryIsValid) {
  const char* source_dir = std::getenv("PANTRY_SOURCE_DIR");
  if (source_dir == nullptr) GTEST_SKIP() << "PANTRY_SOURCE_DIR is not set";
  const std::string path = absl::StrCat(source_dir, "/config/fraud/feature_repo.yaml");
  auto reg = LoadRegistryFile(path);
  ASSERT_TRUE(reg.ok()) << reg.status();
  EXPECT_EQ((*reg)->project, "fraud");
  EXPECT_EQ((*reg)->online_store.type, OnlineStoreConfig::Type::kRedis);
  const FeatureView* both = (*reg)->FindFeatureView("user_merchant");
  ASSERT_NE(both, nullptr);
  ASSERT_THAT(both->join_keys, SizeIs(2));
  EXPECT_EQ(both->join_keys[0].name, "merchant_id");
  EXPECT_FALSE((*reg)->feature_services.empty());
}

TEST(RegistryParser, ArbitraryInputNeverCrashes) {
  const std::vector<std::string> inputs = {
      "[",
      "{",
      "- - -",
      "project: [",
      "project: p\nentities: *undefined\n",
      "project: &a p\nentities: [{name: *a, join_keys: [*a], value_type: INT64}]\n",
      std::string("project: p\x00\xff\xfe\n", 14),
      "\t\tproject: p",
      "project: p\nfeature_views: [{}, [], ~, 1]\nfeature_services: [{}, ~]\n",
      "project: p\nentities: [{name: ~, join_keys: ~, value_type: ~}]\n",
      "? |\n  multi\n  line\n: v\n",
      "!!binary project: p\n",
      std::string(5000, '['),
      std::string(5000, '{'),
  };
  for (const std::string& input : inputs) {
    auto r = Parse(input);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
      EXPECT_THAT(std::string(r.status().message()), StartsWith("repo.yaml:"));
    }
  }
}

TEST(RegistryParser, MaterializeScheduleAndLineagePath) {
  auto reg = MustParse(absl::StrCat(kHeader, R"(feature_views:
  - name: user_stats
    entities: [user]
    source: txn_src
    materialize: {every: 15m}
    schema: [{name: n, dtype: INT64}]
  - name: plain
    entities: [user]
    source: txn_src
    schema: [{name: n, dtype: INT64}]
)"));
  EXPECT_EQ(reg->FindFeatureView("user_stats")->materialize_every, 15 * 60 * kMicrosPerSecond);
  EXPECT_EQ(reg->FindFeatureView("plain")->materialize_every, 0);
  EXPECT_EQ(reg->lineage_path, "/repo/offline/lineage.jsonl");
  EXPECT_EQ(MustParse(Repo("lineage: {path: runs/lineage.jsonl}\n"))->lineage_path,
            "/repo/runs/lineage.jsonl");
}

TEST(RegistryParser, MaterializeScheduleErrorsNameTheField) {
  const std::string text = ErrorText(absl::StrCat(kHeader, R"(feature_views:
  - name: a
    entities: [user]
    source: txn_src
    materialize: {every: 0s}
    schema: [{name: n, dtype: INT64}]
  - name: b
    entities: [user]
    materialize: {every: 1h}
    schema: [{name: n, dtype: INT64}]
  - name: c
    entities: [user]
    source: txn_src
    online: false
    materialize: {every: 1h}
    schema: [{name: n, dtype: INT64}]
  - name: d
    entities: [user]
    source: txn_src
    materialize: {evry: 1h}
    schema: [{name: n, dtype: INT64}]
)"));
  EXPECT_THAT(text, HasSubstr("feature_views[0].materialize.every: must be more than 0"));
  EXPECT_THAT(text, HasSubstr("feature_views[1].materialize: the view has no source"));
  EXPECT_THAT(text, HasSubstr("feature_views[2].materialize: the view is not online"));
  EXPECT_THAT(text, HasSubstr("unknown key 'evry' (did you mean 'every'?)"));
}


// A view's online_ttl defaults to online_store.key_ttl and may override it,
// 0 included.
TEST(RegistryParser, OnlineTtlDefaultsToKeyTtl) {
  constexpr absl::string_view kRepo = R"(project: p
online_store: {type: redis, key_ttl: 30d}
entities:
  - {name: user, join_keys: [user_id], value_type: INT64}
feature_views:
  - name: inherits
    entities: [user]
    schema: [{name: a, dtype: INT64}]
  - name: own
    entities: [user]
    online_ttl: 2h
    schema: [{name: a, dtype: INT64}]
  - name: never
    entities: [user]
    online_ttl: 0
    schema: [{name: a, dtype: INT64}]
)";
  auto reg = MustParse(kRepo);
  EXPECT_EQ(reg->FindFeatureView("inherits")->online_ttl, 30 * 86400 * kMicrosPerSecond);
  EXPECT_EQ(reg->FindFeatureView("own")->online_ttl, 2 * 3600 * kMicrosPerSecond);
  EXPECT_EQ(reg->FindFeatureView("never")->online_ttl, 0);
  EXPECT_THAT(ErrorText(absl::StrReplaceAll(kRepo, {{"online_ttl: 2h", "online_ttl: soon"}})),
              HasSubstr("feature_views[1].online_ttl"));
}

TEST(RegistryParser, UsernameNeedsAPassword) {
  auto reg = MustParse("project: p\nonline_store: {type: redis, username: app, password: pw}\n");
  EXPECT_EQ(reg->online_store.username, "app");
  EXPECT_THAT(ErrorText("project: p\nonline_store: {type: redis, username: app}\n"),
              HasSubstr("username is set but no password is"));
}

// The password may stay out of the repository file: taken from pantryd's
// environment or a file when the store is created.
TEST(RegistryParser, RedisPasswordFromTheEnvironmentOrAFile) {
  auto env = MustParse(
      "project: p\nonline_store: {type: redis, username: app, password_env: REDIS_PW}\n");
  EXPECT_EQ(env->online_store.password_env, "REDIS_PW");
  EXPECT_TRUE(env->online_store.password.empty());
  auto file = MustParse(
      "project: p\nonline_store: {type: redis_cluster, nodes: [h:1], password_file: s/pw}\n");
  EXPECT_TRUE(absl::EndsWith(file->online_store.password_file, "/s/pw"))
      << file->online_store.password_file;
  EXPECT_EQ(file->online_store.password_file[0], '/');

  EXPECT_THAT(
      ErrorText("project: p\nonline_store: {type: redis, password: a, password_env: B}\n"),
      HasSubstr("online_store.password_env: give one of password, password_env and "
                "password_file"));
  EXPECT_THAT(
      ErrorText("project: p\nonline_store: {type: redis, password_env: B, password_file: f}\n"),
      HasSubstr("online_store.password_file: give one of"));
  EXPECT_THAT(ErrorText("project: p\nonline_store: {type: redis, password_env: 1PW}\n"),
              HasSubstr("'1PW' is not an environment variable's name"));
  EXPECT_THAT(ErrorText("project: p\nonline_store: {type: redis, password_env: 'A-B'}\n"),
              HasSubstr("'A-B' is not an environment variable's name"));
  EXPECT_THAT(ErrorText("project: p\nonline_store: {type: redis, password_file: ''}\n"),
              HasSubstr("online_store.password_file: must not be empty"));
  // ${NAME} is not expanded: sending it as written would fail at every
  // connect with a misleading AUTH error.
  EXPECT_THAT(
      ErrorText("project: p\nonline_store: {type: redis, password: '${REDIS_PASSWORD}'}\n"),
      HasSubstr("variables are not expanded; to take the password from pantryd's environment "
                "write password_env: REDIS_PASSWORD"));
  EXPECT_THAT(ErrorText("project: p\nonline_store: {password_env: X}\n"),
              HasSubstr("'password_env' applies only to the redis online store"));
}

TEST(RegistryParser, RedisTls) {
  auto off = MustParse("project: p\nonline_store: {type: redis}\n");
  EXPECT_FALSE(off->online_store.tls.enabled);
  auto system_cas = MustParse("project: p\nonline_store: {type: redis, tls: true}\n");
  EXPECT_TRUE(system_cas->online_store.tls.enabled);
  EXPECT_TRUE(system_cas->online_store.tls.ca_file.empty());
  auto full = MustParse(
      "project: p\nonline_store:\n  type: redis_cluster\n  nodes: [10.0.0.1:6379]\n"
      "  tls: {ca_file: certs/ca.pem, cert_file: /etc/c.pem, key_file: /etc/c.key,\n"
      "        server_name: redis.internal}\n");
  const OnlineStoreConfig::Tls& tls = full->online_store.tls;
  EXPECT_TRUE(tls.enabled);
  EXPECT_TRUE(absl::EndsWith(tls.ca_file, "/certs/ca.pem")) << tls.ca_file;
  EXPECT_EQ(tls.ca_file[0], '/');  // resolved against the repository's folder
  EXPECT_EQ(tls.cert_file, "/etc/c.pem");
  EXPECT_EQ(tls.key_file, "/etc/c.key");
  EXPECT_EQ(tls.server_name, "redis.internal");

  EXPECT_THAT(ErrorText("project: p\nonline_store: {type: redis, tls: {cert_file: c.pem}}\n"),
              HasSubstr("online_store.tls: cert_file and key_file go together"));
  EXPECT_THAT(ErrorText("project: p\nonline_store: {type: redis, tls: {ca: x}}\n"),
              HasSubstr("unknown key 'ca'"));
  EXPECT_THAT(ErrorText("project: p\nonline_store: {type: redis, tls: {ca_file: ''}}\n"),
              HasSubstr("online_store.tls.ca_file: must not be empty"));
  EXPECT_THAT(ErrorText("project: p\nonline_store: {type: redis, tls: maybe}\n"),
              HasSubstr("online_store.tls"));
  EXPECT_THAT(ErrorText("project: p\nonline_store: {tls: true}\n"),
              HasSubstr("'tls' applies only to the redis online store"));
}

// "f6059" and "f264602" have the same FNV-1a hash: rows could not tell them
// apart, so the view is refused.
TEST(RegistryParser, FeaturesWithTheSameOnlineIdAreRefused) {
  EXPECT_THAT(ErrorText(R"(project: p
entities:
  - {name: user, join_keys: [user_id], value_type: INT64}
feature_views:
  - name: v
    entities: [user]
    schema: [{name: f6059, dtype: INT64}, {name: f264602, dtype: INT64}]
)"),
              AllOf(HasSubstr("feature 'f264602' has the same online id"),
                    HasSubstr("feature 'f6059'")));
}

constexpr absl::string_view kStreamRepo =
    "project: p\n"
    "online_store: {type: redis, address: \"127.0.0.1:6379\"}\n"
    "entities:\n"
    "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
    "sources:\n"
    "  - name: clicks\n"
    "    type: redis_stream\n"
    "    stream: events\n"
    "    group: pantry\n"
    "    timestamp_field: ts\n"
    "SOURCE_EXTRA"
    "    schema:\n"
    "      - {name: user_id, dtype: INT64}\n"
    "      - {name: clicks, dtype: INT64}\n"
    "feature_views:\n"
    "  - name: stats\n"
    "    entities: [user]\n"
    "    source: clicks\n"
    "    schema:\n"
    "      - {name: clicks, dtype: INT64}\n"
    "      VIEW_EXTRA\n";

std::string StreamRepo(const std::string& source_extra, const std::string& view_extra = "") {
  std::string yaml(kStreamRepo);
  yaml.replace(yaml.find("SOURCE_EXTRA"), 12, source_extra.empty() ? "" : "    " + source_extra);
  yaml.replace(yaml.find("VIEW_EXTRA"), 10, view_extra);
  return yaml;
}

TEST(Parser, StreamSourcesTakeTheirDefaults) {
  auto r = MustParse(StreamRepo(""));
  const DataSource& s = r->sources.at("clicks");
  EXPECT_TRUE(s.is_stream());
  EXPECT_EQ(s.stream.stream, "events");
  EXPECT_EQ(s.stream.group, "pantry");
  EXPECT_TRUE(s.stream.host.empty());
  EXPECT_EQ(s.stream.dead_letter_stream, "{events}:dead-letters");
  EXPECT_EQ(s.stream.claim_idle, 30 * kMicrosPerSecond);
  EXPECT_EQ(s.stream.batch, 500);
  EXPECT_EQ(s.max_future, 5 * 60 * kMicrosPerSecond);
  EXPECT_EQ(s.allowed_lateness, 0);
  ASSERT_EQ(s.schema.size(), 2u);
  EXPECT_EQ(s.schema[1].dtype, ValueType::kInt64);
  EXPECT_TRUE(s.path.empty());

  r = MustParse(StreamRepo(
      "redis: 10.0.0.5:6380\n    field_map: {n_clicks: clicks}\n    claim_idle: 5s\n"
      "    batch: 50\n    max_future: 1m\n    allowed_lateness: 10m\n"
      "    dead_letter_stream: bad\n"));
  const DataSource& t = r->sources.at("clicks");
  EXPECT_EQ(t.stream.host, "10.0.0.5");
  EXPECT_EQ(t.stream.port, 6380);
  EXPECT_EQ(t.stream.field_map.at("n_clicks"), "clicks");
  EXPECT_EQ(t.stream.claim_idle, 5 * kMicrosPerSecond);
  EXPECT_EQ(t.stream.batch, 50);
  EXPECT_EQ(t.max_future, 60 * kMicrosPerSecond);
  EXPECT_EQ(t.allowed_lateness, 600 * kMicrosPerSecond);
  EXPECT_EQ(t.stream.dead_letter_stream, "bad");
}

TEST(Parser, StreamSourceMistakesAreNamed) {
  EXPECT_THAT(ErrorText(StreamRepo("", "- {name: score, dtype: DOUBLE}")),
              HasSubstr("stream source 'clicks' has no column score in its schema"));
  EXPECT_THAT(ErrorText(StreamRepo("path: data.parquet\n")),
              HasSubstr("a redis_stream source has no path"));
  EXPECT_THAT(ErrorText(StreamRepo("claim_idle: 10ms\n")), HasSubstr("must be at least 1s"));
  EXPECT_THAT(ErrorText(StreamRepo("batch: 0\n")), HasSubstr("sources[0].batch"));
  EXPECT_THAT(ErrorText(StreamRepo("dead_letter_stream: events\n")),
              HasSubstr("must not be the source's stream itself"));
  EXPECT_THAT(ErrorText(StreamRepo("field_map: {a: clicks, b: clicks}\n")),
              HasSubstr("both map to column 'clicks'"));
  std::string no_group = StreamRepo("");
  no_group.replace(no_group.find("    group: pantry\n"), 18, "");
  EXPECT_THAT(ErrorText(no_group), HasSubstr("sources[0].group: required key is missing"));
  std::string memory = StreamRepo("");
  const std::string redis = "{type: redis, address: \"127.0.0.1:6379\"}";
  memory.replace(memory.find(redis), redis.size(), "{type: memory}");
  EXPECT_THAT(ErrorText(memory), HasSubstr("a redis_stream source needs a Redis"));
  std::string file = StreamRepo("");
  file.replace(file.find("type: redis_stream"), 18, "type: redis_streams");
  EXPECT_THAT(ErrorText(file), HasSubstr("unknown source type 'redis_streams'"));
  EXPECT_THAT(ErrorText("project: p\nsources:\n  - {name: s, path: x, timestamp_field: t, "
                        "stream: e}\n"),
              HasSubstr("'stream' is for sources of type: redis_stream"));
}


constexpr absl::string_view kAggregationRepo =
    "project: p\n"
    "entities:\n"
    "  - {name: user, join_keys: [user_id], value_type: INT64}\n"
    "sources:\n"
    "  - name: txns\n"
    "    path: txns.parquet\n"
    "    timestamp_field: ts\n"
    "    allowed_lateness: 10m\n"
    "    schema:\n"
    "      - {name: user_id, dtype: INT64}\n"
    "      - {name: ts, dtype: UNIX_TIMESTAMP}\n"
    "      - {name: amount, dtype: DOUBLE}\n"
    "      - {name: merchant, dtype: STRING}\n"
    "      - {name: items, dtype: INT32}\n"
    "feature_views:\n"
    "  - name: txn_aggs\n"
    "    entities: [user]\n"
    "    source: txns\n"
    "    aggregations:\n"
    "AGGREGATIONS";

std::string AggregationRepo(const std::string& aggregations) {
  std::string yaml(kAggregationRepo);
  yaml.replace(yaml.find("AGGREGATIONS"), 12, aggregations);
  return yaml;
}

TEST(Parser, AggregationViewsServeTheirAggregations) {
  auto r = MustParse(AggregationRepo(
      "      - {name: n_1h, function: count, window: 1h}\n"
      "      - {name: amount_sum_1d, function: sum, column: amount, window: 1d}\n"
      "      - {name: items_sum_7d, function: sum, column: items, window: 7d, hop: 1d}\n"
      "      - {name: amount_mean, function: mean, column: amount, window: 30d}\n"
      "      - {name: items_max, function: max, column: items, window: 90s}\n"
      "      - {name: last_merchants, function: last_n, column: merchant, n: 3, window: 1d}\n"
      "      - {name: merchants, function: approx_count_distinct, column: merchant, window: 1d}\n"
      "      - {name: sd, function: stddev, column: amount, window: 1d}\n"));
  const FeatureView* v = r->FindFeatureView("txn_aggs");
  ASSERT_NE(v, nullptr);
  ASSERT_TRUE(v->is_aggregation());
  ASSERT_EQ(v->aggregations.size(), 8u);
  ASSERT_EQ(v->schema.size(), 8u);
  const Micros h = 3600 * kMicrosPerSecond;
  EXPECT_EQ(v->aggregations[0].hop, 5 * 60 * kMicrosPerSecond);  // under 12h: 5m
  EXPECT_EQ(v->aggregations[1].hop, h);                          // 12h to 12d: 1h
  EXPECT_EQ(v->aggregations[2].hop, 24 * h);                     // as given
  EXPECT_EQ(v->aggregations[3].hop, 24 * h);                     // 12d and more: 1d
  EXPECT_EQ(v->aggregations[4].hop, kMicrosPerSecond);           // 90s: 5m and 1m do not divide
  EXPECT_EQ(v->schema[0].dtype, ValueType::kInt64);
  EXPECT_EQ(v->schema[1].dtype, ValueType::kDouble);
  EXPECT_EQ(v->schema[2].dtype, ValueType::kInt64);   // sum of INT32
  EXPECT_EQ(v->schema[3].dtype, ValueType::kDouble);
  EXPECT_EQ(v->schema[4].dtype, ValueType::kInt64);   // max of INT32, widened
  EXPECT_EQ(v->schema[5].dtype, ValueType::kStringList);
  EXPECT_EQ(v->aggregations[5].n, 3);
  EXPECT_EQ(v->schema[6].dtype, ValueType::kInt64);
  EXPECT_EQ(v->schema[7].name, "sd");
  // The events' columns: the source's, without the join key and the event time.
  std::vector<std::string> columns;
  for (const Feature& f : v->written_columns()) columns.push_back(f.name);
  EXPECT_THAT(columns, ElementsAre("amount", "merchant", "items"));
  EXPECT_EQ(v->WrittenColumnIndex("merchant"), 1);
  EXPECT_EQ(r->sources.at("txns").allowed_lateness, 600 * kMicrosPerSecond);
  std::vector<FeatureRef> refs;
  ASSERT_TRUE(r->ResolveFeatureRef("txn_aggs:*", &refs).ok());
  EXPECT_EQ(refs.size(), 8u);
}

TEST(Parser, AggregationMistakesAreNamedWithTheirLine) {
  auto one = [](const std::string& line) { return ErrorText(AggregationRepo(line)); };
  EXPECT_THAT(one("      - {name: a, function: sum, column: amout, window: 1h}\n"),
              AllOf(HasSubstr("repo.yaml:20:"), HasSubstr("aggregations[0].column"),
                    HasSubstr("no column 'amout'"), HasSubstr("amount")));
  EXPECT_THAT(one("      - {name: a, function: avg, column: amount, window: 1h}\n"),
              AllOf(HasSubstr("unknown function 'avg'"), HasSubstr("repo.yaml:20:")));
  EXPECT_THAT(one("      - {name: a, function: sum, column: merchant, window: 1h}\n"),
              AllOf(HasSubstr("sum does not fit column 'merchant' of type STRING"),
                    HasSubstr("repo.yaml:20:")));
  EXPECT_THAT(one("      - {name: a, function: count, window: 90m, hop: 1h}\n"),
              AllOf(HasSubstr("window 90m is not a multiple of hop 1h"),
                    HasSubstr("aggregations[0].hop")));
  EXPECT_THAT(one("      - {name: a, function: mean, window: 1h}\n"), HasSubstr("mean needs a column"));
  EXPECT_THAT(one("      - {name: a, function: last_n, column: amount, window: 1h}\n"),
              HasSubstr("last_n needs n"));
  EXPECT_THAT(one("      - {name: a, function: count, n: 2, window: 1h}\n"),
              HasSubstr("n is for last_n only"));
  EXPECT_THAT(one("      - {name: user_id, function: count, window: 1h}\n"),
              HasSubstr("has the name of a join key"));
  EXPECT_THAT(one("      - {name: a, function: count, column: ts, window: 1h}\n"),
              HasSubstr("not a column of the events"));
  EXPECT_THAT(one("      - {name: a, function: count, window: 1h}\n"
                  "      - {name: a, function: count, window: 2h}\n"),
              HasSubstr("repo.yaml:21:"));
  EXPECT_THAT(one("      - {name: a, function: count, window: 0}\n"), HasSubstr("must be more than 0"));
  EXPECT_THAT(ErrorText(AggregationRepo("      - {name: a, function: count, window: 1h}\n") +
                        "    schema: [{name: x, dtype: INT64}]\n"),
              HasSubstr("an aggregation view serves its aggregations: remove schema"));
  EXPECT_THAT(ErrorText(AggregationRepo("      - {name: a, function: count, window: 1h}\n") +
                        "    ttl: 1d\n"),
              HasSubstr("ttl does not apply to an aggregation view"));
  EXPECT_THAT(ErrorText(absl::StrReplaceAll(
                  AggregationRepo("      - {name: a, function: count, window: 1h}\n"),
                  {{"    schema:\n      - {name: user_id, dtype: INT64}\n      - {name: ts, dtype: "
                    "UNIX_TIMESTAMP}\n      - {name: amount, dtype: DOUBLE}\n      - {name: "
                    "merchant, dtype: STRING}\n      - {name: items, dtype: INT32}\n",
                    ""}})),
              HasSubstr("declares no schema"));
  EXPECT_THAT(ErrorText(absl::StrReplaceAll(
                  AggregationRepo("      - {name: a, function: count, window: 1h}\n"),
                  {{"      - {name: user_id, dtype: INT64}\n", ""}})),
              HasSubstr("has no column user_id in its schema"));
}

}  // namespace
}  // namespace pantry

namespace pantry {
namespace {

constexpr char kGoverned[] = R"(project: p
governance:
  require_owner: true
  require_description: true
  require_tags: [pii, team]
  tag_values: {pii: ["true", "false"]}
entities:
  - {name: user, join_keys: [user_id], value_type: INT64}
sources:
  - {name: s, type: push, timestamp_field: ts, schema: [{name: user_id, dtype: INT64}, {name: a, dtype: DOUBLE}]}
feature_views:
  - name: good
    entities: [user]
    source: s
    owner: risk
    description: Spending.
    tags: {pii: "false", team: risk}
    schema: [{name: a, dtype: DOUBLE}]
  - name: bare
    entities: [user]
    source: s
    schema: [{name: a, dtype: DOUBLE}]
  - name: odd_tag
    entities: [user]
    source: s
    owner: risk
    description: Spending.
    tags: {pii: "maybe", team: risk}
    schema: [{name: a, dtype: DOUBLE}]
on_demand_views:
  - name: derived
    owner: risk
    inputs: {features: [good:a]}
    features: [{name: twice, dtype: DOUBLE, expr: "good.a * 2"}]
feature_services:
  - {name: svc, features: [good:a], owner: risk, description: Scoring., tags: {pii: "false", team: risk}}
  - {name: svc2, features: [good:a]}
)";

TEST(Governance, EveryViewAndServiceMustCarryWhatThePolicyRequires) {
  auto r = ParseRegistry(kGoverned, "repo.yaml", "/repo");
  ASSERT_FALSE(r.ok());
  const std::string m(r.status().message());
  EXPECT_THAT(m, ::testing::HasSubstr(
                     "repo.yaml:19:5: feature view 'bare': lacks what the governance policy "
                     "requires: an owner, a description, tag 'pii', tag 'team'"));
  EXPECT_THAT(m, ::testing::HasSubstr(
                     "feature view 'odd_tag': tag pii: 'maybe' is not one the governance policy "
                     "allows (true, false)"));
  EXPECT_THAT(m, ::testing::HasSubstr("on-demand view 'derived': lacks what the governance "
                                      "policy requires: a description, tag 'pii', tag 'team'"));
  EXPECT_THAT(m, ::testing::HasSubstr("feature service 'svc2'"));
  EXPECT_THAT(m, ::testing::Not(::testing::HasSubstr("'good'")));
  EXPECT_THAT(m, ::testing::Not(::testing::HasSubstr("'svc':")));
  // Without the policy the same repository is valid.
  std::string ungoverned = kGoverned;
  ungoverned.erase(ungoverned.find("governance:"),
                   ungoverned.find("entities:") - ungoverned.find("governance:"));
  auto ok = ParseRegistry(ungoverned, "repo.yaml", "/repo");
  EXPECT_TRUE(ok.ok()) << ok.status();
  auto bad = ParseRegistry("project: p\ngovernance: {require_owner: sometimes, colour: 1}\n",
                           "repo.yaml", "/repo");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("governance.require_owner"));
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("unknown key 'colour'"));
}

}  // namespace
}  // namespace pantry
