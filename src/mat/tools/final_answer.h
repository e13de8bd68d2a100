// final_answer: ends the run with the given answer.
#pragma once

#include <memory>

#include "mat/tools/tool.h"

namespace mat::tools {

std::unique_ptr<Tool> make_final_answer_tool();

}  // namespace mat::tools
