/*
 * no_entry.c - a valid shared library that is not a Litmus plugin: it exports no
 * litmus_plugin_entry_v1. The loader must reject it with "missing entry symbol".
 *
 *   cc -shared -fPIC no_entry.c -o liblitmus-no-entry.so
 */
__attribute__((visibility("default"))) int not_a_plugin(void);

int not_a_plugin(void)
{
    return 42;
}
