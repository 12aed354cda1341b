// Drawing on the playground's digit pad as a user would, with the mouse.

import type { Page } from 'playwright-core';

/** One straight stroke on the Draw view's pad, from and to given as fractions of its box. */
export async function drawStroke(page: Page, from: [number, number], to: [number, number]): Promise<void> {
  const box = (await page.locator('canvas.pad').boundingBox())!;
  const at = ([x, y]: [number, number]) => [box.x + box.width * x, box.y + box.height * y] as const;
  await page.mouse.move(...at(from));
  await page.mouse.down();
  // Ten moves: the pad sees the stroke grow and refreshes the predictions on the way.
  await page.mouse.move(...at(to), { steps: 10 });
  await page.mouse.up();
}
