import json,re,sys,statistics as st
txt=open(__import__('os').path.join(__import__('os').path.dirname(__file__), 'bench.out')).read()
sections=re.split(r'^== round (\d) (\w+) (\w+)\n', txt, flags=re.M)
data={}
for i in range(1,len(sections)-1,4):
    r,b,kind,body=sections[i],sections[i+1],sections[i+2],sections[i+3]
    data[(int(r),b,kind)]=body
def jrows(body):
    out={}
    for l in body.splitlines():
        l=l.strip()
        if l.startswith('{'):
            try: d=json.loads(l)
            except: continue
            out[d]=d if False else None
    return out
def parse(body, keys, val):
    out={}
    for l in body.splitlines():
        l=l.strip()
        if not l.startswith('{'): continue
        try: d=json.loads(l)
        except: continue
        out[tuple(d.get(k) for k in keys)]=d[val]
    return out
for kind,keys,val,higher in [('solver',('run','n','scheme','threads'),'steps_per_s',True),('closure',('model','n','batch','threads','sampler'),'ms_per_sample',False)]:
    ratios=[]
    print(f'## bench {kind}: after / before ({val}), per round')
    for r in (1,2):
        if (r,'before',kind) not in data or (r,'after',kind) not in data: continue
        b=parse(data[(r,'before',kind)],keys,val); a=parse(data[(r,'after',kind)],keys,val)
        rs=[]
        for k in b:
            if k in a and b[k]:
                x=a[k]/b[k]
                if not higher: x=1/x   # speed ratio: >1 faster
                rs.append((k,x))
        ratios+= [x for _,x in rs]
        if rs:
            print(f'round {r}: {len(rs)} rows, speed ratio geo-mean {st.geometric_mean([x for _,x in rs]):.3f}, min {min(x for _,x in rs):.3f} max {max(x for _,x in rs):.3f}')
            worst=sorted(rs,key=lambda t:t[1])[:3]
            for k,x in worst: print('   slowest:',k,f'{x:.3f}')
    if ratios: print(f'all: geo-mean {st.geometric_mean(ratios):.3f}')
for r in (1,2):
    for b in ('before','after'):
        if (r,b,'train') in data:
            print(f'## train round {r} {b}\n'+data[(r,b,'train')].strip())
