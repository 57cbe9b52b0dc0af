# Extract the PTX text from an mlir-opt output made with gpu-module-to-binary{format=isa}.
# usage: extract_ptx.py in.mlir out.ptx
import re,sys
s=open(sys.argv[1]).read()
for i,m in enumerate(re.finditer(r'assembly = "((?:[^"\\]|\\.)*)"', s)):
    raw=m.group(1)
    out=re.sub(r'\\([0-9A-Fa-f]{2})', lambda x: chr(int(x.group(1),16)), raw).replace('\\\\','\\')
    open(sys.argv[2],'w').write(out)
