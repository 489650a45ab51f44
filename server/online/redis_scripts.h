// The Lua scripts the Redis backends run (docs/redis-layout.md shows them
// byte for byte). Shared by the single-server and the cluster store, and by
// the layout benchmark.
#ifndef PANTRY_SERVER_ONLINE_REDIS_SCRIPTS_H_
#define PANTRY_SERVER_ONLINE_REDIS_SCRIPTS_H_

#include "absl/strings/string_view.h"

namespace pantry {

// Newer-wins row writes. KEYS: the row keys; ARGV: per key its expiry in
// milliseconds ("0": none) and its row (server/online/row.h). A row lands
// only where the stored row's event time (bytes 2-9, big-endian, sign bit
// flipped) is strictly older, or where nothing is stored. Returns per key:
//   1 written; 0 skipped, the stored row is as new or newer;
//   2 refused, the stored string is not a row of format 1 (a newer format,
//     or not Pantry's);
//   3 refused, the key holds another Redis type (WRONGTYPE).
// Only the 9 header bytes of the stored row are read (GETRANGE), so the
// compare costs the same for wide rows. struct.unpack gives the two 32-bit
// halves as exact Lua numbers (doubles would lose a 64-bit time).
inline constexpr absl::string_view kRowWriteScript = R"lua(
local out = {}
for k = 1, #KEYS do
  local px, row = ARGV[2 * k - 1], ARGV[2 * k]
  local cur = redis.pcall('GETRANGE', KEYS[k], 0, 8)
  local land = true
  if type(cur) == 'table' then
    out[k] = 3
    land = false
  elseif cur ~= '' then
    if #cur < 9 or cur:byte(1) ~= 1 then
      out[k] = 2
      land = false
    else
      local nh, nl = struct.unpack('>I4I4', row, 2)
      local ch, cl = struct.unpack('>I4I4', cur, 2)
      if nh < ch or (nh == ch and nl <= cl) then
        out[k] = 0
        land = false
      end
    end
  end
  if land then
    if px == '0' then
      redis.call('SET', KEYS[k], row)
    else
      redis.call('SET', KEYS[k], row, 'PX', px)
    end
    out[k] = 1
  end
end
return out
)lua";

}  // namespace pantry

#endif  // PANTRY_SERVER_ONLINE_REDIS_SCRIPTS_H_
