// Family "event_days": read a rendered event poster with ocr and count the days between its
// opening and closing dates (date logic in Python).
#include "mat/teacher/families.h"
#include "mat/teacher/solution_steps.h"

namespace mat::teacher {
namespace {

class EventDays : public TaskFamily {
 public:
  std::string name() const override { return "event_days"; }
  std::vector<std::string> stems() const override { return {"poster", "flyer", "notice"}; }
  std::vector<std::string> types() const override { return {"image"}; }
  std::vector<std::string> phrasings() const override {
    return {"How many days are there between the opening and closing dates on {{file}}?",
            "The poster {{file}} shows when an event opens and closes. How many days apart are "
            "those dates?",
            "Read {{file}} and tell me the number of days from its first date to its second.",
            "Using the dates printed on {{file}}, compute how many days the event runs.",
            "Count the days separating the two dates written on {{file}}."};
  }

  Task build(TaskDraw& draw) const override {
    Task task;
    task.files.push_back(pool_file(draw, pool_kind::kPoster));
    task.answer = std::to_string(task.files.front().image->values.at(0));
    task.tools = {"ocr"};
    task.solution = {
        ocr_step("poster"),
        answer_step("The poster gives two dates. I will parse them and count the days between.",
                    "import re, datetime\ndates = [datetime.date.fromisoformat(d) for d in "
                    "re.findall(r\"\\d{4}-\\d{2}-\\d{2}\", result[\"text\"])]\nanswer = (dates[1] "
                    "- dates[0]).days")};
    task.reference_calls = {{"OCR", {{"image", draw.file}}}};
    return task;
  }
};

}  // namespace

std::unique_ptr<TaskFamily> make_event_days_family() {
  return std::make_unique<EventDays>();
}

}  // namespace mat::teacher
