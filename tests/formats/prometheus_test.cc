// SPDX-License-Identifier: Apache-2.0
// The Prometheus range-query reader: the documented shape, error answers, every malformed
// variant rejected with the first thing wrong, NaN / Inf kept as missing, gaps, counter resets.
#include "arenalab/formats/prometheus.h"

#include <gtest/gtest.h>

#include <cmath>

#include "arenalab/core/files.h"

namespace arenalab::prometheus {
namespace {

// A response as Prometheus 2.42 writes it (checked against the real server in
// tests/detectors/fleet/prometheus_test.sh).
const char* kTwoSeries = R"({"status":"success","data":{"resultType":"matrix","result":[
  {"metric":{"__name__":"redis_memory_used_bytes","instance":"a:9121","job":"redis"},
   "values":[[1700000000,"1000"],[1700000015,"1500.5"],[1700000030,"2e3"]]},
  {"metric":{"instance":"b:9121","job":"redis"},
   "values":[[1700000000.5,"NaN"],[1700000015.5,"+Inf"],[1700000030.5,"-Inf"],[1700000045.5,"7"]]}
]}})";

TEST(PrometheusReader, ReadsAMatrix) {
  auto r = parse_range_response(kTwoSeries, "test");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->series.size(), 2u);
  const auto& a = r->series[0];
  EXPECT_EQ(a.labels.at("__name__"), "redis_memory_used_bytes");
  EXPECT_EQ(a.labels.at("instance"), "a:9121");
  ASSERT_EQ(a.t_s.size(), 3u);
  EXPECT_DOUBLE_EQ(a.t_s[1], 1700000015);
  EXPECT_DOUBLE_EQ(a.value[1], 1500.5);
  EXPECT_DOUBLE_EQ(a.value[2], 2000);
  EXPECT_EQ(a.non_finite, 0u);
  const auto& b = r->series[1];
  EXPECT_EQ(b.labels.count("__name__"), 0u);
  EXPECT_TRUE(std::isnan(b.value[0]));
  EXPECT_TRUE(std::isinf(b.value[1]) && b.value[1] > 0);
  EXPECT_TRUE(std::isinf(b.value[2]) && b.value[2] < 0);
  EXPECT_DOUBLE_EQ(b.value[3], 7);
  EXPECT_EQ(b.non_finite, 3u);
}

TEST(PrometheusReader, AnEmptyResultIsNoSeries) {
  auto r = parse_range_response(
      R"({"status":"success","data":{"resultType":"matrix","result":[]},"warnings":["w1"]})", "t");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->series.empty());
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_EQ(r->warnings[0], "w1");
}

TEST(PrometheusReader, AnErrorAnswerCarriesItsTypeAndText) {
  auto r = parse_range_response(
      R"({"status":"error","errorType":"bad_data","error":"1:6: parse error: unclosed left parenthesis"})",
      "http://p:9090");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "http://p:9090: Prometheus answered bad_data: 1:6: parse error: unclosed left "
            "parenthesis");
}

struct Bad {
  const char* body;
  const char* says;  // a part of the message
};

class PrometheusReaderRejects : public ::testing::TestWithParam<Bad> {};

TEST_P(PrometheusReaderRejects, WithTheFirstThingWrong) {
  auto r = parse_range_response(GetParam().body, "origin");
  ASSERT_FALSE(r) << GetParam().body;
  EXPECT_NE(r.error().message.find("origin: "), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(GetParam().says), std::string::npos) << r.error().message;
}

#define MATRIX(series) \
  R"({"status":"success","data":{"resultType":"matrix","result":[)" series "]}}"
INSTANTIATE_TEST_SUITE_P(
    Malformed, PrometheusReaderRejects,
    ::testing::Values(
        Bad{"", "not JSON"}, Bad{"<html>404</html>", "not JSON"},
        Bad{R"({"status":"success","data":{"resultType":"matrix","result":[)", "not JSON"},
        Bad{"[1,2]", "not a JSON object"}, Bad{R"({"data":{}})", "no \"status\""},
        Bad{R"({"status":"partial"})", "\"status\" is \"partial\""},
        Bad{R"({"status":"success"})", "no \"data\" object"},
        Bad{R"({"status":"success","data":{"resultType":"vector","result":[]}})",
            "resultType is \"vector\""},
        Bad{R"({"status":"success","data":{"resultType":"matrix"}})", "no \"data.result\""},
        Bad{MATRIX("1"), "series 0 is not an object"},
        Bad{MATRIX(R"({"values":[]})"), "series 0 has no \"metric\""},
        Bad{MATRIX(R"({"metric":{"a":1},"values":[]})"), "label a is not a string"},
        Bad{MATRIX(R"({"metric":{}})"), "has no \"values\""},
        Bad{MATRIX(R"({"metric":{},"histograms":[]})"), "native histogram"},
        Bad{MATRIX(R"({"metric":{},"values":[[1,2]]})"), "sample 0 is not [time, \"value\"]"},
        Bad{MATRIX(R"({"metric":{},"values":[[1]]})"), "sample 0 is not [time, \"value\"]"},
        Bad{MATRIX(R"({"metric":{},"values":[["1","2"]]})"), "sample 0 is not [time"},
        Bad{MATRIX(R"({"metric":{},"values":[[1,"2"],[1,"3"]]})"), "times do not increase"},
        Bad{MATRIX(R"({"metric":{},"values":[[2,"2"],[1,"3"]]})"), "times do not increase"},
        Bad{MATRIX(R"({"metric":{},"values":[[1,""]]})"), "\"\" is not a number"},
        Bad{MATRIX(R"({"metric":{},"values":[[1,"12abc"]]})"), "\"12abc\" is not a number"},
        Bad{MATRIX(R"({"metric":{},"values":[[1,"nan"]]})"), "\"nan\" is not a number"},
        Bad{MATRIX(R"({"metric":{},"values":[[1,"0x10"]]})"), "\"0x10\" is not a number"},
        Bad{MATRIX(R"({"metric":{},"values":[[1,"1"]]},{"metric":{},"values":[[1,"x"]]})"),
            "series 1 sample 0"}),
    [](const ::testing::TestParamInfo<Bad>& info) { return "case" + std::to_string(info.index); });

TEST(PrometheusReader, CountsMissingPointsInGaps) {
  RangeSeries s;
  s.t_s = {0, 15, 30, 90, 105, 106};  // 45..75 missing (3 points); 106 is jitter, not a gap
  s.value = {1, 1, 1, 1, 1, 1};
  EXPECT_EQ(missing_points(s, 15), 3u);
  EXPECT_EQ(missing_points(s, 0), 0u);
  RangeSeries none;
  EXPECT_EQ(missing_points(none, 15), 0u);
}

TEST(PrometheusReader, CorrectsCounterResetsAsRateDoes) {
  RangeSeries s;
  s.t_s = {0, 1, 2, 3, 4, 5, 6};
  s.value = {10, 20, 5, NAN, 8, 3, 4};  // resets at 2 (20 -> 5) and 5 (8 -> 3)
  const auto resets = counter_resets(s);
  ASSERT_EQ(resets.size(), 2u);
  EXPECT_EQ(resets[0], 2u);
  EXPECT_EQ(resets[1], 5u);
  const auto m = without_counter_resets(s);
  EXPECT_DOUBLE_EQ(m.value[0], 10);
  EXPECT_DOUBLE_EQ(m.value[1], 20);
  EXPECT_DOUBLE_EQ(m.value[2], 25);
  EXPECT_TRUE(std::isnan(m.value[3]));
  EXPECT_DOUBLE_EQ(m.value[4], 28);
  EXPECT_DOUBLE_EQ(m.value[5], 31);  // 3 + 20 + 8
  EXPECT_DOUBLE_EQ(m.value[6], 32);
  EXPECT_TRUE(counter_resets(m).empty());
}

// Answers of a real Prometheus 2.42 (tests/data/prometheus, captured from the server the
// integration test starts): a gauge, counters, and a query error.
TEST(PrometheusReader, ReadsRealAnswers) {
  const std::string dir = std::string(ARENALAB_TEST_DATA) + "/prometheus/";
  auto rss = read_file(dir + "query_range.process_rss.json");
  ASSERT_TRUE(rss) << rss.error().message;
  auto r = parse_range_response(*rss, "rss");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_EQ(r->series[0].labels.at("__name__"), "process_resident_memory_bytes");
  EXPECT_GE(r->series[0].t_s.size(), 10u);
  EXPECT_EQ(missing_points(r->series[0], 2), 0u);
  for (double v : r->series[0].value) EXPECT_GT(v, 1 << 20);  // a server's RSS, in bytes
  auto counters = read_file(dir + "query_range.counters.json");
  ASSERT_TRUE(counters);
  auto c = parse_range_response(*counters, "counters");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_GE(c->series.size(), 2u);
  for (const auto& s : c->series) EXPECT_TRUE(counter_resets(s).empty());
  auto err = read_file(dir + "query_range.error.json");
  ASSERT_TRUE(err);
  auto e = parse_range_response(*err, "http://127.0.0.1:9090");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("answered bad_data: 1:6: parse error"), std::string::npos);
}

}  // namespace
}  // namespace arenalab::prometheus
