#include "server/ingest/run_events.h"

#include "absl/strings/str_cat.h"

namespace pantry::ingest {

std::vector<lineage::RunEvent> IngestRunEvents(const Registry& registry, const CompactStats& stats,
                                               const std::string& log_dir, Micros now) {
  std::vector<lineage::RunEvent> out;
  for (const CompactStats::Written& w : stats.written) {
    lineage::RunEvent e;
    e.event_type = "COMPLETE";
    e.event_time = now;
    e.run_id = lineage::NewRunId();
    e.job_namespace = absl::StrCat("pantry://", registry.project);
    e.job_name = absl::StrCat("ingest.", w.view);
    e.inputs.push_back({"file", log_dir, {}});
    if (const FeatureView* v = registry.FindFeatureView(w.view)) {
      auto s = registry.sources.find(v->source);
      if (s != registry.sources.end() && s->second.is_stream()) {
        const StreamSource& st = s->second.stream;
        e.inputs.push_back({st.host.empty() ? "redis" : absl::StrCat("redis://", st.host, ":", st.port),
                            st.stream, {}});
      }
    }
    e.outputs.push_back({"file", w.path, {}});
    e.figures = {{"rows_written", w.rows}};
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace pantry::ingest
