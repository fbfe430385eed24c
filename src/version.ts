/** The server's name and version, as `--version` and MCP `initialize` report them. */
export const SERVER_NAME = "mcp-tool-server";
export const SERVER_VERSION = "0.1.0";
