// Conversions between the gRPC messages and Pantry's own types, and the one
// mapping from absl::Status to grpc::Status.
#ifndef PANTRY_SERVER_SERVICE_CONVERT_H_
#define PANTRY_SERVER_SERVICE_CONVERT_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "pantry/v1/registry.pb.h"
#include "pantry/v1/types.pb.h"
#include "server/registry/registry.h"
#include "server/value/value.h"

namespace pantry {

// absl and gRPC share their code numbering; the message is kept.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// A proto Value with no kind set becomes a null (typed INT64; nulls cast to
// any type).
Value FromProto(const v1::Value& proto);
void ToProto(const Value& value, v1::Value* proto);

v1::ValueType ToProto(ValueType type);
// nullopt for VALUE_TYPE_UNSPECIFIED or unknown numbers.
std::optional<ValueType> FromProto(v1::ValueType type);

void ToProto(const Entity& entity, v1::EntitySpec* proto);
void ToProto(const FeatureView& view, v1::FeatureViewSpec* proto);
void ToProto(const FeatureService& service, v1::FeatureServiceSpec* proto);
void ToProto(const OnDemandView& view, v1::OnDemandViewSpec* proto);

}  // namespace pantry

#endif  // PANTRY_SERVER_SERVICE_CONVERT_H_
