/** A cdk.tf.json the loader must refuse: the message of its LoadError (never another exception). */
import { expect } from "vitest";
import { loadStack, LoadError } from "../../../provider/engine/load.js";

export function loadRefusal(doc: unknown): string {
  try {
    loadStack(doc);
  } catch (e) {
    expect(e).toBeInstanceOf(LoadError);
    return (e as Error).message;
  }
  throw new Error("load succeeded but should have failed");
}
