// A WASI "hello" command in AssemblyScript: greets, echoes its arguments and one env variable.
const args = process.argv;
console.log('Hello from AssemblyScript inside a Bulkhead sandbox!');
for (let i = 1; i < args.length; i++) {
  console.log('arg[' + i.toString() + ']: ' + args[i]);
}
const env = process.env;
if (env.has('GREETING')) console.log('GREETING=' + env.get('GREETING'));
