// The embedded online store: an in-process hash map with the same layout and
// newer-wins semantics as Redis. Data lives only as long as the process.
// Thread-safe; callbacks run on the calling thread before Read/Write return.
#ifndef PANTRY_SERVER_ONLINE_MEMORY_STORE_H_
#define PANTRY_SERVER_ONLINE_MEMORY_STORE_H_

#include <memory>

#include "server/online/online_store.h"

namespace pantry {

std::unique_ptr<OnlineStore> NewMemoryOnlineStore();

}  // namespace pantry

#endif  // PANTRY_SERVER_ONLINE_MEMORY_STORE_H_
