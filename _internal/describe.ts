// Copyright 2026 the percpu authors. MIT license.

/**
 * Renders any value briefly for an error message: `7`, `"abc"`, `undefined`,
 * `a function`, `an array of length 3`, `an object (Promise)`.
 *
 * Error messages end with "current value is …"; this keeps them short and
 * never throws, whatever the value is.
 */
export function describe(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    case "bigint":
      return `${value}n`;
    case "function":
      return "a function";
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) return `an array of length ${value.length}`;
      const name = Object.getPrototypeOf(value)?.constructor?.name;
      return typeof name === "string" && name !== "Object" ? `an object (${name})` : "an object";
    }
    case "symbol":
      return value.toString();
    default:
      return String(value);
  }
}
