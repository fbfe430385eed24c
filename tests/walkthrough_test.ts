import { walkthrough, walkthroughUnavailable } from "../scripts/walkthrough.ts";

if (walkthroughUnavailable) console.log(`Skipping the walk-through: ${walkthroughUnavailable}`);

Deno.test({
  name:
    "the real user's path: own database and tools file, the bundle with the compile flags in production, both doors, readiness flipping with the database",
  ignore: walkthroughUnavailable !== undefined,
  async fn() {
    await walkthrough(() => {});
  },
});
