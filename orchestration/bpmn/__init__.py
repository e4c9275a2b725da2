"""BPMN 2.0 in, compiled graph out.

``compiler.compile_bpmn`` reads the XML; ``graph`` documents what it produces. This
package imports nothing itself, so that ``orchestration.expressions`` can read the
graph's types without pulling in the compiler.
"""
