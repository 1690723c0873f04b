// Clusters and control planes live as long as the test that started them: one left running
// until its file ends keeps its API server, controllers and node agent busy, and a file of
// twelve held twelve at once (each test slower than the last, and the file beside it too).
import { afterAll, onTestFinished } from 'vitest';

/**
 * Closes what `close` ends when the current test ends; started outside a test (in a
 * beforeAll), after the file instead. Call it at file or describe level: it registers
 * that afterAll.
 */
export function closedAfterUse(): (close: () => Promise<void>) => void {
  const forTheFile: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await Promise.all(forTheFile.splice(0).map((close) => close()));
  });
  return (close) => {
    try {
      onTestFinished(close);
    } catch {
      // Not inside a test (vitest says so by throwing): the file's afterAll closes it.
      forTheFile.push(close);
    }
  };
}
