/**
 * TEST ONLY. The fixture tools the MCP conformance suite
 * (`npm:@modelcontextprotocol/conformance`) calls in its `tools-call-*`
 * scenarios, served only with `MCP_CONFORMANCE_FIXTURES=true` — which the
 * config refuses unless the server is bound to loopback in `development`.
 * They are ordinary tools: the same registry, the same `/mcp` door and the
 * same pipeline (validation, deadline, audit line, metrics) as every other.
 *
 * Scenarios a tools-only, stateless, JSON-answering server cannot pass
 * (sampling, elicitation, progress and log notifications, resources,
 * prompts) have no fixture here: see `tests/conformance/expected-failures.yml`.
 *
 * @module
 */
import { z } from "zod";
import { defineTool, type Tool } from "../tools/define.ts";
import { ToolError } from "../tools/errors.ts";
import { mcpContent } from "./content.ts";

/** A 1×1 red PNG. */
const RED_PIXEL_PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";
/** A WAV file of 8 silent samples (8 kHz, mono, 8 bit). */
const SILENT_WAV = "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==";

const noInput = z.strictObject({});
const annotations = { readOnlyHint: true, openWorldHint: false } as const;

/** The fixture tools, in the order the suite's scenarios list them. */
export const CONFORMANCE_TOOLS: readonly Tool[] = [
  defineTool({
    name: "test_simple_text",
    description: "Conformance fixture: returns one text block.",
    input: noInput,
    annotations,
    handler: () =>
      Promise.resolve(
        mcpContent([{ type: "text", text: "This is a simple text response for testing." }]),
      ),
  }),
  defineTool({
    name: "test_image_content",
    description: "Conformance fixture: returns one image block (a 1x1 red PNG).",
    input: noInput,
    annotations,
    handler: () =>
      Promise.resolve(mcpContent([{ type: "image", data: RED_PIXEL_PNG, mimeType: "image/png" }])),
  }),
  defineTool({
    name: "test_audio_content",
    description: "Conformance fixture: returns one audio block (a tiny WAV).",
    input: noInput,
    annotations,
    handler: () =>
      Promise.resolve(mcpContent([{ type: "audio", data: SILENT_WAV, mimeType: "audio/wav" }])),
  }),
  defineTool({
    name: "test_embedded_resource",
    description: "Conformance fixture: returns one embedded text resource.",
    input: noInput,
    annotations,
    handler: () =>
      Promise.resolve(mcpContent([{
        type: "resource",
        resource: {
          uri: "test://embedded-resource",
          mimeType: "text/plain",
          text: "This is an embedded resource content.",
        },
      }])),
  }),
  defineTool({
    name: "test_multiple_content_types",
    description: "Conformance fixture: returns a text, an image and a resource block.",
    input: noInput,
    annotations,
    handler: () =>
      Promise.resolve(mcpContent([
        { type: "text", text: "Multiple content types test:" },
        { type: "image", data: RED_PIXEL_PNG, mimeType: "image/png" },
        {
          type: "resource",
          resource: {
            uri: "test://mixed-content-resource",
            mimeType: "application/json",
            text: JSON.stringify({ test: "data", value: 123 }),
          },
        },
      ])),
  }),
  defineTool({
    name: "test_error_handling",
    description: "Conformance fixture: always fails with a tool error (isError: true).",
    input: noInput,
    annotations,
    handler: () =>
      Promise.reject(
        new ToolError("invalid_input", "This tool intentionally returns an error for testing"),
      ),
  }),
];
