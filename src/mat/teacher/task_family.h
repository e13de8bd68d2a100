// The offline teacher's task families, behind one interface. A family draws concrete tasks with
// known answers and canonical solutions; its tasks' file names carry the task's number
// ("receipt_0412.png"), which is how the stateless teacher finds the task a request is about.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mat/teacher/draw.h"
#include "mat/teacher/task.h"

namespace mat::teacher {

inline constexpr int kNumbersPerFamily = 10'000;

// What the generic part draws for a family before the family fills in its task.
struct TaskDraw {
  std::uint64_t seed = 0;
  int number = 0;
  int phrasing = 0;
  std::string file;  // the main file's name: "<stem>_<number>.<ext>"
  std::string type;  // its type
  Rng rng{0};        // for the family's own choices
  // The values of the family's placeholders in its phrasings (build() sets them; {{file}} is
  // set for it).
  std::map<std::string, std::string> slots;
};

class TaskFamily {
 public:
  virtual ~TaskFamily() = default;
  virtual std::string name() const = 0;
  // The stems its files are named with (unique to the family) and the file types it uses.
  virtual std::vector<std::string> stems() const = 0;
  virtual std::vector<std::string> types() const = 0;
  // Its phrasings, with {{file}} and the family's own placeholders; the last
  // heldout_phrasings() of them are never used for training.
  virtual std::vector<std::string> phrasings() const = 0;
  virtual int heldout_phrasings() const { return 1; }
  // The task for `draw`: query, files, answer, solution.
  virtual Task build(TaskDraw& draw) const = 0;
};

// The families, in a fixed order.
const std::vector<std::unique_ptr<TaskFamily>>& families();
const TaskFamily& family_named(const std::string& name);  // throws core::Error when unknown

// The task `number` of `family` under `seed`.
Task make_task(const TaskFamily& family, std::uint64_t seed, int number);

// A task drawn with `rng` from any family, its phrasing among `phrasings`.
Task draw_task(std::uint64_t seed, Rng& rng, Phrasings phrasings);

// The task whose file name occurs in `text` (a query, a prompt that quotes one), or nullopt when
// no family's file name does.
std::optional<Task> find_task(std::string_view text, std::uint64_t seed);

// The task's image file `draw.file`: a pool image of `kind` drawn with draw.rng, described by its
// caption.
TaskFile pool_file(TaskDraw& draw, const std::string& kind);

// The file extension of a document or image type, with the dot.
std::string extension_of(const std::string& type);

// Python's repr of a float with cents (14.8 for 1480 cents, 14.79 for 1479, 14.0 for 1400):
// how final_answer prints a price computed with round(x, 2).
std::string python_money(int cents);

}  // namespace mat::teacher
