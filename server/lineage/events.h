// The OpenLineage events of what pantryd does besides materializing: an
// installed repository (apply) with the schemas of its views.
#ifndef PANTRY_SERVER_LINEAGE_EVENTS_H_
#define PANTRY_SERVER_LINEAGE_EVENTS_H_

#include "server/lineage/lineage.h"
#include "server/registry/registry.h"

namespace pantry::lineage {

// Job "apply" in namespace pantry://<project>, COMPLETE: the repository
// file as its input, and as outputs every feature view and on-demand view
// ("<project>.<view>") with its columns as the schema facet.
RunEvent ApplyEvent(const Registry& registry, Micros now);

}  // namespace pantry::lineage

#endif  // PANTRY_SERVER_LINEAGE_EVENTS_H_
