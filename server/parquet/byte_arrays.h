// ByteArrays: a column of variable-length byte strings stored as one buffer
// plus offsets, the in-memory form of BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY
// values in the Parquet codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace pantry::parquet {

class ByteArrays {
 public:
  ByteArrays() : offsets_{0} {}

  size_t size() const { return offsets_.size() - 1; }
  bool empty() const { return size() == 0; }
  size_t data_size() const { return data_.size(); }

  absl::string_view Get(size_t i) const {
    return absl::string_view(data_.data() + offsets_[i], offsets_[i + 1] - offsets_[i]);
  }

  void Append(absl::string_view v) {
    data_.append(v.data(), v.size());
    offsets_.push_back(static_cast<uint64_t>(data_.size()));
  }

  // Appends values [begin, end) of `other`.
  void AppendRange(const ByteArrays& other, size_t begin, size_t end) {
    if (begin >= end) return;
    const uint64_t from = other.offsets_[begin];
    const uint64_t base = data_.size();
    data_.append(other.data_, from, other.offsets_[end] - from);
    offsets_.reserve(offsets_.size() + (end - begin));
    for (size_t i = begin + 1; i <= end; ++i) offsets_.push_back(base + other.offsets_[i] - from);
  }

  void Reserve(size_t n, size_t bytes) {
    offsets_.reserve(offsets_.size() + n);
    data_.reserve(data_.size() + bytes);
  }

  void Clear() {
    offsets_.assign(1, 0);
    data_.clear();
  }

  // Raw access for bulk decoders: append bytes to data() then call
  // `AppendOffset` once per value with the new end.
  std::string* mutable_data() { return &data_; }
  void AppendOffset(uint64_t end) { offsets_.push_back(end); }

 private:
  std::vector<uint64_t> offsets_;  // size() + 1 entries; value i is [offsets_[i], offsets_[i+1])
  std::string data_;
};

}  // namespace pantry::parquet
