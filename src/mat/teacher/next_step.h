// The trajectory stage: the next step of a task's canonical solution, given the agent's
// conversation so far. It reads the real observations: after a failed step it redoes the work
// from the start in one step (the interpreter may have lost its variables), and after a second
// failure in a row it reports the problem as its final answer instead of going on blindly.
#pragma once

#include <string>
#include <vector>

#include "mat/agent/parser.h"
#include "mat/teacher/stage_replies.h"

namespace mat::teacher {

// `messages`: the agent's system prompt, the task, then assistant steps and observations.
agent::ParsedStep next_step(const Task& task, const std::vector<TextMessage>& messages,
                            bool wrong_answer);

}  // namespace mat::teacher
