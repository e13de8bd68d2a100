// Family "receipt_total": read a rendered receipt with ocr and add up its prices.
#include "mat/teacher/families.h"
#include "mat/teacher/solution_steps.h"

namespace mat::teacher {
namespace {

class ReceiptTotal : public TaskFamily {
 public:
  std::string name() const override { return "receipt_total"; }
  std::vector<std::string> stems() const override { return {"receipt", "bill", "till_slip"}; }
  std::vector<std::string> types() const override { return {"image"}; }
  std::vector<std::string> phrasings() const override {
    return {"What is the total of all the prices on the receipt {{file}}?",
            "Add up every item price printed on {{file}} and tell me the sum.",
            "I kept the receipt {{file}}. How much did I spend in total?",
            "Read the receipt in {{file}} and give the sum of its item prices.",
            "My shopping slip is {{file}}: work out what all the listed goods cost together."};
  }

  Task build(TaskDraw& draw) const override {
    Task task;
    task.files.push_back(pool_file(draw, pool_kind::kReceipt));
    int cents = 0;
    for (const int price : task.files.front().image->values) cents += price;
    task.answer = python_money(cents);
    char two_decimals[16];
    std::snprintf(two_decimals, sizeof two_decimals, "%d.%02d", cents / 100, cents % 100);
    if (task.answer != two_decimals) task.aliases.push_back(two_decimals);
    task.tools = {"ocr"};
    task.solution = {
        ocr_step("receipt"),
        answer_step("The receipt's item lines end with prices. I will add up every price in the "
                    "text.",
                    "import re\nprices = [float(p) for p in re.findall(r\"\\d+\\.\\d\\d\", "
                    "result[\"text\"])]\nanswer = round(sum(prices), 2)")};
    task.reference_calls = {{"OCR", {{"image", draw.file}}}};
    return task;
  }
};

}  // namespace

std::unique_ptr<TaskFamily> make_receipt_total_family() {
  return std::make_unique<ReceiptTotal>();
}

}  // namespace mat::teacher
