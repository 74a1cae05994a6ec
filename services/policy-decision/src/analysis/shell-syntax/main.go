//go:build js && wasm

// Command shell-syntax is mvdan.cc/sh/v3's bash parser compiled to WebAssembly
// for the policy decision service. It registers one JS function on the
// global object its loader passes in (shell-syntax-tree.ts):
//
//	__portcullisParseShell(source string) → string (JSON)
//
// The JSON is {"file": <syntax tree>} or {"error": "<parse error>"}; see
// encode.go for the encoding: every node carries "Pos"/"End" byte offsets
// into the source and interface-typed nodes carry their Go type name as
// "Type", so TypeScript can walk the whole tree and slice source text.
//
// We build this instead of using the sh-syntax npm package's tree because
// sh-syntax (0.7.0) only serialises statement positions: Stmt.Cmd and
// Word.Parts come back as bare {Pos, End} objects with no type or children.
// mvdan's own typedjson encoder works but is ~15x slower than encode.go and
// its output twice the size (a Pos object per position).
package main

import (
	"bytes"
	"reflect"
	"strings"
	"syscall/js"

	"mvdan.cc/sh/v3/syntax"
)

func parse(src string) string {
	// Bash is the widest dialect mvdan/sh parses; POSIX sh input parses the same.
	parser := syntax.NewParser(syntax.Variant(syntax.LangBash), syntax.KeepComments(false))
	file, err := parser.Parse(strings.NewReader(src), "")
	var buf bytes.Buffer
	if err != nil {
		buf.WriteString(`{"error":`)
		writeString(&buf, err.Error())
		buf.WriteString("}")
		return buf.String()
	}
	buf.WriteString(`{"file":`)
	encodeTree(&buf, reflect.ValueOf(file), true)
	buf.WriteString("}")
	return buf.String()
}

func main() {
	js.Global().Set("__portcullisParseShell", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) != 1 || args[0].Type() != js.TypeString {
			return `{"error":"expected one string argument"}`
		}
		return parse(args[0].String())
	}))
	select {} // keep the Go runtime alive so the function stays callable
}
