// On-demand feature expressions (placeholder; see docs/concepts.md).
#pragma once
