#include "server/transform/expr.h"

#include "gtest/gtest.h"

TEST(Expr, Placeholder) { SUCCEED(); }
