#include "server/value/encoding.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace pantry {
namespace {

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

template <typename T>
void PutFixed(T v, std::string* out) {
  // Pantry targets little-endian hosts (x86-64, arm64); memcpy is the
  // little-endian encoding there.
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out->append(buf, sizeof(T));
}

void PutString(const std::string& s, std::string* out) {
  PutVarint(s.size(), out);
  out->append(s);
}

template <typename T>
void PutFixedList(const std::vector<T>& v, std::string* out) {
  PutVarint(v.size(), out);
  const size_t at = out->size();
  out->resize(at + v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(out->data() + at, v.data(), v.size() * sizeof(T));
}

// Reads from a byte range; every read checks the remaining length first, so
// no length taken from the input sizes an allocation unchecked.
class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}
  bool Varint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64 && pos_ < in_.size(); shift += 7) {
      const uint8_t b = static_cast<uint8_t>(in_[pos_++]);
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return false;
  }
  template <typename T>
  bool Fixed(T* v) {
    if (in_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool String(std::string* s) {
    uint64_t n;
    if (!Varint(&n) || n > in_.size() - pos_) return false;
    s->assign(in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  template <typename T>
  bool FixedList(std::vector<T>* v) {
    uint64_t n;
    if (!Varint(&n) || n > (in_.size() - pos_) / sizeof(T)) return false;
    v->resize(n);
    if (n > 0) std::memcpy(v->data(), in_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return true;
  }
  bool BoolList(std::vector<bool>* v) {
    uint64_t n;
    if (!Varint(&n) || n > in_.size() - pos_) return false;
    v->clear();
    v->reserve(n);
    for (uint64_t i = 0; i < n; ++i) v->push_back(in_[pos_++] != 0);
    return true;
  }
  bool StringList(std::vector<std::string>* v) {
    uint64_t n;
    // Each element takes at least one byte (its length).
    if (!Varint(&n) || n > in_.size() - pos_) return false;
    v->resize(n);
    for (auto& s : *v) {
      if (!String(&s)) return false;
    }
    return true;
  }
  bool Byte(uint8_t* b) { return Fixed(b); }
  // Skips `n` elements of `size` bytes.
  bool Skip(uint64_t n, size_t size) {
    if (n > (in_.size() - pos_) / size) return false;
    pos_ += n * size;
    return true;
  }
  bool SkipString() {
    uint64_t n;
    return Varint(&n) && Skip(n, 1);
  }
  bool AtEnd() const { return pos_ == in_.size(); }
  size_t pos() const { return pos_; }

 private:
  absl::string_view in_;
  size_t pos_ = 0;
};

bool IsKnownType(uint8_t tag) { return (tag >= 1 && tag <= 8) || (tag >= 11 && tag <= 18); }

}  // namespace

void EncodeValue(const Value& value, std::string* out) {
  if (value.is_null()) {
    out->push_back(0);
    out->push_back(static_cast<char>(value.type()));
    return;
  }
  out->push_back(static_cast<char>(value.type()));
  switch (value.type()) {
    case ValueType::kInt32: PutFixed(value.get<int32_t>(), out); break;
    case ValueType::kInt64:
    case ValueType::kUnixTimestamp: PutFixed(value.get<int64_t>(), out); break;
    case ValueType::kFloat: PutFixed(value.get<float>(), out); break;
    case ValueType::kDouble: PutFixed(value.get<double>(), out); break;
    case ValueType::kBool: out->push_back(value.get<bool>() ? 1 : 0); break;
    case ValueType::kString:
    case ValueType::kBytes: PutString(value.get<std::string>(), out); break;
    case ValueType::kInt32List: PutFixedList(value.get<std::vector<int32_t>>(), out); break;
    case ValueType::kInt64List:
    case ValueType::kUnixTimestampList: PutFixedList(value.get<std::vector<int64_t>>(), out); break;
    case ValueType::kFloatList: PutFixedList(value.get<std::vector<float>>(), out); break;
    case ValueType::kDoubleList: PutFixedList(value.get<std::vector<double>>(), out); break;
    case ValueType::kBoolList: {
      const auto& v = value.get<std::vector<bool>>();
      PutVarint(v.size(), out);
      for (bool b : v) out->push_back(b ? 1 : 0);
      break;
    }
    case ValueType::kStringList:
    case ValueType::kBytesList: {
      const auto& v = value.get<std::vector<std::string>>();
      PutVarint(v.size(), out);
      for (const auto& s : v) PutString(s, out);
      break;
    }
  }
}

std::string EncodeValue(const Value& value) {
  std::string out;
  EncodeValue(value, &out);
  return out;
}

absl::StatusOr<Value> DecodeValue(absl::string_view bytes) {
  Reader r(bytes);
  auto corrupt = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("corrupt stored value (", what, ", ", bytes.size(),
                                            " bytes)"));
  };
  uint8_t tag;
  if (!r.Byte(&tag)) return corrupt("empty");
  if (tag == 0) {
    uint8_t type;
    if (!r.Byte(&type) || !IsKnownType(type)) return corrupt("bad null type");
    if (!r.AtEnd()) return corrupt("trailing bytes");
    return Value::Null(static_cast<ValueType>(type));
  }
  if (!IsKnownType(tag)) return corrupt("unknown type tag");
  const auto type = static_cast<ValueType>(tag);
  bool ok = false;
  Value::Payload payload;
  switch (type) {
    case ValueType::kInt32: { int32_t v = 0; ok = r.Fixed(&v); payload = v; break; }
    case ValueType::kInt64:
    case ValueType::kUnixTimestamp: { int64_t v = 0; ok = r.Fixed(&v); payload = v; break; }
    case ValueType::kFloat: { float v = 0; ok = r.Fixed(&v); payload = v; break; }
    case ValueType::kDouble: { double v = 0; ok = r.Fixed(&v); payload = v; break; }
    case ValueType::kBool: { uint8_t v = 0; ok = r.Byte(&v); payload = v != 0; break; }
    case ValueType::kString:
    case ValueType::kBytes: { std::string v; ok = r.String(&v); payload = std::move(v); break; }
    case ValueType::kInt32List: { std::vector<int32_t> v; ok = r.FixedList(&v); payload = std::move(v); break; }
    case ValueType::kInt64List:
    case ValueType::kUnixTimestampList: { std::vector<int64_t> v; ok = r.FixedList(&v); payload = std::move(v); break; }
    case ValueType::kFloatList: { std::vector<float> v; ok = r.FixedList(&v); payload = std::move(v); break; }
    case ValueType::kDoubleList: { std::vector<double> v; ok = r.FixedList(&v); payload = std::move(v); break; }
    case ValueType::kBoolList: { std::vector<bool> v; ok = r.BoolList(&v); payload = std::move(v); break; }
    case ValueType::kStringList:
    case ValueType::kBytesList: { std::vector<std::string> v; ok = r.StringList(&v); payload = std::move(v); break; }
  }
  if (!ok) return corrupt("truncated");
  if (!r.AtEnd()) return corrupt("trailing bytes");
  return Value::Make(type, std::move(payload));
}

uint32_t FeatureId(absl::string_view feature) {
  uint32_t h = 2166136261u;
  for (unsigned char c : feature) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

absl::StatusOr<size_t> EncodedValueSize(absl::string_view bytes) {
  Reader r(bytes);
  auto corrupt = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("corrupt stored value (", what, ")"));
  };
  uint8_t tag;
  if (!r.Byte(&tag)) return corrupt("empty");
  if (tag == 0) {
    uint8_t type;
    if (!r.Byte(&type) || !IsKnownType(type)) return corrupt("bad null type");
    return r.pos();
  }
  if (!IsKnownType(tag)) return corrupt("unknown type tag");
  bool ok = false;
  uint64_t n = 0;
  switch (static_cast<ValueType>(tag)) {
    case ValueType::kInt32:
    case ValueType::kFloat: ok = r.Skip(1, 4); break;
    case ValueType::kInt64:
    case ValueType::kUnixTimestamp:
    case ValueType::kDouble: ok = r.Skip(1, 8); break;
    case ValueType::kBool: ok = r.Skip(1, 1); break;
    case ValueType::kString:
    case ValueType::kBytes: ok = r.SkipString(); break;
    case ValueType::kInt32List:
    case ValueType::kFloatList: ok = r.Varint(&n) && r.Skip(n, 4); break;
    case ValueType::kInt64List:
    case ValueType::kUnixTimestampList:
    case ValueType::kDoubleList: ok = r.Varint(&n) && r.Skip(n, 8); break;
    case ValueType::kBoolList: ok = r.Varint(&n) && r.Skip(n, 1); break;
    case ValueType::kStringList:
    case ValueType::kBytesList:
      ok = r.Varint(&n);
      for (uint64_t i = 0; ok && i < n; ++i) ok = r.SkipString();
      break;
  }
  if (!ok) return corrupt("truncated");
  return r.pos();
}

}  // namespace pantry
