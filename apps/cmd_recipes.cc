// trisim recipes: the built-in precision recipes, and any recipe as TOML.
#include <cstdio>
#include <memory>
#include <string>

#include "apps/commands.h"
#include "sim/recipe.h"

namespace trisim::app {
namespace {

struct RecipesOptions {
  std::string show;
  bool fields = false;
};

int RunRecipes(const RecipesOptions& o) {
  if (o.fields) {
    std::fputs(RecipeFieldsHelp().c_str(), stdout);
    return 0;
  }
  if (!o.show.empty()) {
    std::fputs(LoadRecipe(o.show).ToToml().c_str(), stdout);
    return 0;
  }
  for (const Recipe& r : BuiltinRecipes()) {
    std::printf("  %-13s %s\n", r.name.c_str(), r.description.c_str());
  }
  std::printf(
      "\nA recipe file (TOML) may start from a built-in with "
      "base = \"NAME\" and override\nany field; `trisim recipes --show "
      "NAME` prints one in that form;\n`trisim recipes --fields` lists every "
      "key with its allowed values and default.\n");
  return 0;
}

}  // namespace

Command SetupRecipesCommand(CLI::App& root) {
  auto o = std::make_shared<RecipesOptions>();
  CLI::App* app = root.add_subcommand(
      "recipes", "List the built-in precision recipes, one line each");
  app->add_option("--show", o->show,
                  "Print one recipe (built-in name or PATH.toml) as TOML");
  app->add_flag("--fields", o->fields,
                "List every recipe key: allowed values, default, meaning");
  return {app, [o] { return RunRecipes(*o); }};
}

}  // namespace trisim::app
