#include "server/transform/expr.h"
