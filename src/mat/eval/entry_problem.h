// A malformed entry found while loading a benchmark or a set of predictions. Loaders collect every
// one instead of stopping at the first, so that a user fixes a file in one pass.
#pragma once

#include <string>

namespace mat::eval {

struct EntryProblem {
  std::string entry;    // the entry's id; "line N" or the file's path when it has none
  std::string message;  // what is wrong with it
};

}  // namespace mat::eval
