// A raw hiredis connection for tests, to look and write behind a store's
// back. Header-only: link hiredis (PkgConfig::HIREDIS).
#ifndef PANTRY_TESTS_SUPPORT_RAW_REDIS_H_
#define PANTRY_TESTS_SUPPORT_RAW_REDIS_H_

#include <hiredis/hiredis.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace pantry::testing {

class RawRedis {
 public:
  explicit RawRedis(int port) : c_(redisConnect("127.0.0.1", port)) {}
  ~RawRedis() {
    if (c_ != nullptr) redisFree(c_);
  }
  RawRedis(const RawRedis&) = delete;
  RawRedis& operator=(const RawRedis&) = delete;

  bool ok() const { return c_ != nullptr && c_->err == 0; }

  using Reply = std::unique_ptr<redisReply, void (*)(void*)>;
  Reply Command(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const std::string& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    return Reply(static_cast<redisReply*>(redisCommandArgv(c_, static_cast<int>(argv.size()),
                                                           argv.data(), lengths.data())),
                 freeReplyObject);
  }

  long long Integer(const std::vector<std::string>& args) {
    Reply reply = Command(args);
    EXPECT_NE(reply, nullptr);
    if (reply == nullptr) return -999;
    EXPECT_EQ(reply->type, REDIS_REPLY_INTEGER) << (reply->str ? reply->str : "");
    return reply->integer;
  }

  // The string reply, or "(nil)" / "(type N)" when it is none.
  std::string Text(const std::vector<std::string>& args) {
    Reply reply = Command(args);
    if (reply == nullptr) return "(no reply)";
    if (reply->type == REDIS_REPLY_NIL) return "(nil)";
    if (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_STATUS) {
      return "(type " + std::to_string(reply->type) + ")";
    }
    return std::string(reply->str, reply->len);
  }

  std::map<std::string, std::string> HGetAll(const std::string& key) {
    std::map<std::string, std::string> out;
    Reply reply = Command({"HGETALL", key});
    EXPECT_NE(reply, nullptr);
    if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return out;
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
      out[std::string(reply->element[i]->str, reply->element[i]->len)] =
          std::string(reply->element[i + 1]->str, reply->element[i + 1]->len);
    }
    return out;
  }

 private:
  redisContext* c_;
};

}  // namespace pantry::testing

#endif  // PANTRY_TESTS_SUPPORT_RAW_REDIS_H_
