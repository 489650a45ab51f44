#include "server/service/convert.h"

namespace pantry {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

Value FromProto(const v1::Value& p) {
  switch (p.kind_case()) {
    case v1::Value::kInt32Val: return Value::Int32(p.int32_val());
    case v1::Value::kInt64Val: return Value::Int64(p.int64_val());
    case v1::Value::kFloatVal: return Value::Float(p.float_val());
    case v1::Value::kDoubleVal: return Value::Double(p.double_val());
    case v1::Value::kBoolVal: return Value::Bool(p.bool_val());
    case v1::Value::kStringVal: return Value::String(p.string_val());
    case v1::Value::kBytesVal: return Value::Bytes(p.bytes_val());
    case v1::Value::kUnixTimestampVal: return Value::UnixTimestamp(p.unix_timestamp_val());
    case v1::Value::kInt32ListVal:
      return Value::Int32List({p.int32_list_val().val().begin(), p.int32_list_val().val().end()});
    case v1::Value::kInt64ListVal:
      return Value::Int64List({p.int64_list_val().val().begin(), p.int64_list_val().val().end()});
    case v1::Value::kFloatListVal:
      return Value::FloatList({p.float_list_val().val().begin(), p.float_list_val().val().end()});
    case v1::Value::kDoubleListVal:
      return Value::DoubleList({p.double_list_val().val().begin(), p.double_list_val().val().end()});
    case v1::Value::kBoolListVal:
      return Value::BoolList({p.bool_list_val().val().begin(), p.bool_list_val().val().end()});
    case v1::Value::kStringListVal:
      return Value::StringList({p.string_list_val().val().begin(), p.string_list_val().val().end()});
    case v1::Value::kBytesListVal:
      return Value::BytesList({p.bytes_list_val().val().begin(), p.bytes_list_val().val().end()});
    case v1::Value::kUnixTimestampListVal:
      return Value::UnixTimestampList(
          {p.unix_timestamp_list_val().val().begin(), p.unix_timestamp_list_val().val().end()});
    case v1::Value::KIND_NOT_SET: break;
  }
  return Value::Null(ValueType::kInt64);
}

void ToProto(const Value& v, v1::Value* p) {
  if (v.is_null()) {
    p->Clear();
    return;
  }
  switch (v.type()) {
    case ValueType::kInt32: p->set_int32_val(v.get<int32_t>()); break;
    case ValueType::kInt64: p->set_int64_val(v.get<int64_t>()); break;
    case ValueType::kFloat: p->set_float_val(v.get<float>()); break;
    case ValueType::kDouble: p->set_double_val(v.get<double>()); break;
    case ValueType::kBool: p->set_bool_val(v.get<bool>()); break;
    case ValueType::kString: p->set_string_val(v.get<std::string>()); break;
    case ValueType::kBytes: p->set_bytes_val(v.get<std::string>()); break;
    case ValueType::kUnixTimestamp: p->set_unix_timestamp_val(v.get<int64_t>()); break;
    case ValueType::kInt32List: {
      const auto& l = v.get<std::vector<int32_t>>();
      p->mutable_int32_list_val()->mutable_val()->Assign(l.begin(), l.end());
      break;
    }
    case ValueType::kInt64List: {
      const auto& l = v.get<std::vector<int64_t>>();
      p->mutable_int64_list_val()->mutable_val()->Assign(l.begin(), l.end());
      break;
    }
    case ValueType::kFloatList: {
      const auto& l = v.get<std::vector<float>>();
      p->mutable_float_list_val()->mutable_val()->Assign(l.begin(), l.end());
      break;
    }
    case ValueType::kDoubleList: {
      const auto& l = v.get<std::vector<double>>();
      p->mutable_double_list_val()->mutable_val()->Assign(l.begin(), l.end());
      break;
    }
    case ValueType::kBoolList: {
      auto* out = p->mutable_bool_list_val()->mutable_val();
      for (bool b : v.get<std::vector<bool>>()) out->Add(b);
      break;
    }
    case ValueType::kStringList: {
      auto* out = p->mutable_string_list_val()->mutable_val();
      for (const auto& s : v.get<std::vector<std::string>>()) out->Add(std::string(s));
      break;
    }
    case ValueType::kBytesList: {
      auto* out = p->mutable_bytes_list_val()->mutable_val();
      for (const auto& s : v.get<std::vector<std::string>>()) out->Add(std::string(s));
      break;
    }
    case ValueType::kUnixTimestampList: {
      const auto& l = v.get<std::vector<int64_t>>();
      p->mutable_unix_timestamp_list_val()->mutable_val()->Assign(l.begin(), l.end());
      break;
    }
  }
}

v1::ValueType ToProto(ValueType type) { return static_cast<v1::ValueType>(type); }

std::optional<ValueType> FromProto(v1::ValueType type) {
  const auto n = static_cast<int>(type);
  if ((n >= 1 && n <= 8) || (n >= 11 && n <= 18)) return static_cast<ValueType>(n);
  return std::nullopt;
}

void ToProto(const Entity& e, v1::EntitySpec* p) {
  p->set_name(e.name);
  for (const auto& k : e.join_keys) p->add_join_keys(k);
  p->set_value_type(ToProto(e.value_type));
  p->set_description(e.description);
}

void ToProto(const FeatureView& v, v1::FeatureViewSpec* p) {
  p->set_name(v.name);
  for (const auto& e : v.entities) p->add_entities(e);
  for (const auto& k : v.join_keys) {
    auto* jk = p->add_join_keys();
    jk->set_name(k.name);
    jk->set_value_type(ToProto(k.value_type));
  }
  p->set_ttl_seconds(v.ttl / kMicrosPerSecond);
  p->set_source(v.source);
  p->set_online(v.online);
  p->set_materialize_every_seconds(v.materialize_every / kMicrosPerSecond);
  p->set_owner(v.owner);
  p->set_description(v.description);
  p->mutable_tags()->insert(v.tags.begin(), v.tags.end());
  for (const auto& f : v.schema) {
    auto* fp = p->add_features();
    fp->set_name(f.name);
    fp->set_dtype(ToProto(f.dtype));
    fp->set_description(f.description);
    fp->mutable_tags()->insert(f.tags.begin(), f.tags.end());
  }
  for (const Aggregation& a : v.aggregations) {
    auto* ap = p->add_aggregations();
    ap->set_name(a.name);
    ap->set_function(std::string(AggFunctionName(a.function)));
    ap->set_column(a.column);
    ap->set_window_seconds(a.window / kMicrosPerSecond);
    ap->set_hop_seconds(a.hop / kMicrosPerSecond);
    ap->set_n(a.n);
  }
  for (const Feature& c : v.event_columns) {
    auto* cp = p->add_event_columns();
    cp->set_name(c.name);
    cp->set_dtype(ToProto(c.dtype));
  }
}

void ToProto(const OnDemandView& v, v1::OnDemandViewSpec* p) {
  p->set_name(v.name);
  for (const SourceColumn& c : v.request) {
    auto* cp = p->add_request();
    cp->set_name(c.name);
    cp->set_dtype(ToProto(c.dtype));
  }
  for (const FeatureRef& r : v.inputs) p->add_inputs(r.ToString());
  for (const OnDemandFeature& f : v.features) {
    auto* fp = p->add_features();
    fp->set_name(f.name);
    fp->set_dtype(ToProto(f.dtype));
    fp->set_expr(f.expr);
    fp->set_description(f.description);
  }
  p->set_owner(v.owner);
  p->set_description(v.description);
  p->mutable_tags()->insert(v.tags.begin(), v.tags.end());
}

void ToProto(const FeatureService& s, v1::FeatureServiceSpec* p) {
  p->set_name(s.name);
  for (const auto& f : s.features) p->add_features(f.ToString());
  p->set_owner(s.owner);
  p->set_description(s.description);
  p->mutable_tags()->insert(s.tags.begin(), s.tags.end());
}

}  // namespace pantry
