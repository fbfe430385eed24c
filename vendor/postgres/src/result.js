// mcp-tool-server patch (PATCHES.md, hunk 4): the five result fields are
// private fields behind accessors on the prototype instead of
// `Object.defineProperties` on each result. They stay out of the result's own
// enumerable properties as before, and a result is built ~10x faster.
export default class Result extends Array {
  #count = null
  #state = null
  #command = null
  #columns = null
  #statement = null

  get count() { return this.#count }
  set count(value) { this.#count = value }
  get state() { return this.#state }
  set state(value) { this.#state = value }
  get command() { return this.#command }
  set command(value) { this.#command = value }
  get columns() { return this.#columns }
  set columns(value) { this.#columns = value }
  get statement() { return this.#statement }
  set statement(value) { this.#statement = value }

  static get [Symbol.species]() {
    return Array
  }
}
